"""Chinese labels for the code words the platform writes down (DESIGN §3 rule 10: no code word reaches
a page): audit action codes (`exchange.request.decide`) and problem types (`purpose-not-granted`).

Each module keeps its own words in `yiwang/<module>/labels.py`:

    ACTION_LABELS = {"licenses.issue": "签发证照"}
    PROBLEM_LABELS = {"licence-expired": "证照已过期"}

found on the package path the first time a label is asked for, so a new module's labels are picked up
without editing this file (and core names no domain word itself). A code with no label of its own
falls back to its module's name ("共享交换中的其他操作"), never to the code.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
import threading
from functools import cache
from typing import Final

# The platform's own actions (core.audit and the demo builder), which belong to no module.
_CORE_ACTIONS: Final = {
    "audit.anchor": "锚定审计链",
    "audit.verify": "核验审计链",
    "demo.client.pin": "固定演示接入系统凭据",
}
MODULE_NAMES: Final = {
    "audit": "审计",
    "catalog": "政务信息资源目录",
    "core": "平台",
    "demo": "演示数据",
    "exchange": "共享交换",
    "governance": "数据治理",
    "identity": "统一身份认证",
    "registry": "基础库",
    "licenses": "电子证照",
    "seals": "电子印章",
    "yiwang": "平台",
}
_lock = threading.Lock()


@cache
def _tables() -> tuple[dict[str, str], dict[str, str]]:
    import yiwang

    actions: dict[str, str] = dict(_CORE_ACTIONS)
    problems: dict[str, str] = {}
    with _lock:
        for info in sorted(pkgutil.iter_modules(yiwang.__path__), key=lambda i: i.name):
            if not info.ispkg:
                continue
            name = f"yiwang.{info.name}.labels"
            if importlib.util.find_spec(f"yiwang.{info.name}") is None:
                continue
            try:
                spec = importlib.util.find_spec(name)
            except ModuleNotFoundError:
                spec = None
            if spec is None:
                continue
            module = importlib.import_module(name)
            actions.update(getattr(module, "ACTION_LABELS", {}))
            problems.update(getattr(module, "PROBLEM_LABELS", {}))
    return actions, problems


def action_labels() -> dict[str, str]:
    """Every known action code → its Chinese label (a copy)."""
    return dict(_tables()[0])


def action_label(code: str) -> str:
    """The Chinese label of an audit action code; an unknown code is named by its module only."""
    label = _tables()[0].get(code)
    if label:
        return label
    module = code.split(".", 1)[0] if code else ""
    return f"{MODULE_NAMES.get(module, '平台')}中的其他操作"


def problem_label(slug: str, default: str = "请求未能完成") -> str:
    """The Chinese name of a problem type (its slug, `purpose-not-granted`)."""
    return _tables()[1].get(slug, default)
