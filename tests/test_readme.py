"""The README works as written on a fresh clone: every command it shows is a `make` target that
exists (no bare `uv run`: uv may live in .tools/), and it links nothing outside the repository."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _targets() -> set[str]:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    return set(re.findall(r"^([a-z][a-z0-9-]*):", makefile, re.M))


def test_every_make_command_in_the_readme_is_a_target():
    shown = set(re.findall(r"\bmake ([a-z][a-z0-9-]*)", README))
    assert {"demo", "test", "audit-verify", "yiwang"} <= shown
    assert shown - _targets() == set()


def test_no_command_needs_uv_on_the_path():
    assert "uv run" not in README


def test_links_stay_inside_the_repository():
    for target in re.findall(r"\]\(([^)]+)\)", README) + re.findall(r"`(\.\./[^`]*)`", README):
        if target.startswith(("http://127.0.0.1", "http://localhost", "#")):
            continue
        assert not target.startswith(("../", "/", "http://", "https://")), target
        assert (ROOT / target.split("#")[0]).exists(), target


def test_make_yiwang_passes_its_arguments(tmp_path):
    """`make yiwang ARGS=…` runs the CLI through the project's own uv (dry run: make -n)."""
    out = subprocess.run(
        ["make", "-n", "-C", str(ROOT), "yiwang", "ARGS=audit verify", "UV=/x/uv"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "/x/uv run --frozen yiwang audit verify" in out
    verify = subprocess.run(
        ["make", "-n", "-C", str(ROOT), "audit-verify", "UV=/x/uv"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "/x/uv run --frozen yiwang audit verify" in verify
