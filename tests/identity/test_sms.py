"""The SMS adapter's local implementation (the outbox) and `yiwang sms`, which prints it for the demo."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from yiwang.settings import get_settings


def test_outbox_adapter_and_the_cli_that_prints_it(tmp_path, monkeypatch):
    from yiwang.cli import app, db_upgrade
    from yiwang.core.db import Database
    from yiwang.identity import sms_outbox, sms_sender

    monkeypatch.setenv("YIWANG_DATABASE_URL", f"sqlite:///{tmp_path / 'sms.db'}")
    get_settings.cache_clear()
    try:
        db_upgrade("head")
        database = Database(get_settings().database_url)
        with database.session() as s:
            sms_sender().send(
                s, phone="13912345678", body="【一网】您的注册验证码是 123456。", purpose="register"
            )
            sms_sender().send(s, phone="13700000000", body="【一网】另一条", purpose="register")
        with database.session() as s:
            assert [m.phone for m in sms_outbox(s)] == ["13700000000", "13912345678"]
            assert [m.purpose for m in sms_outbox(s, phone="13912345678")] == ["register"]
        database.dispose()
        out = CliRunner().invoke(app, ["sms", "--phone", "13912345678"])
        assert out.exit_code == 0, out.output
        assert "139****5678" in out.output and "123456" in out.output and "另一条" not in out.output
        monkeypatch.setenv("YIWANG_SMS_BACKEND", "carrier-pigeon")
        get_settings.cache_clear()
        with pytest.raises(ValueError, match="短信适配器"):
            sms_sender()
    finally:
        get_settings.cache_clear()
