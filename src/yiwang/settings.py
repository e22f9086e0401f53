"""Settings read from YIWANG_* environment variables (and an optional .env file)."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="YIWANG_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///yiwang.db"
    # Hex SM4 key (32 hex chars) that wraps every private key and TOTP secret at rest (DESIGN §3 rule 8).
    # Left empty, a key is generated once into `master_key_file` so the demo needs no set-up.
    master_key: str = ""
    master_key_file: Path = Path("var/master.key")
    # Public base URL: the OIDC issuer and every absolute link derive from it.
    base_url: str = "http://127.0.0.1:8000"
    session_cookie: str = "yiwang_session"
    session_hours: int = 8
    access_token_minutes: int = 60
    login_max_failures: int = 5
    login_lock_minutes: int = 15
    # Throttling (docs/security.md, "Login protection"): failures from one source address in 15 minutes,
    # failures for one username from all sources in an hour, registration attempts per hour.
    login_ip_max_failures: int = 30
    login_account_max_failures: int = 20
    register_ip_max_attempts: int = 10
    register_id_max_attempts: int = 5
    # The SMS adapter: "outbox" keeps messages in identity_sms_outbox (the local implementation; a
    # gateway adapter for production registers under its own name).
    sms_backend: str = "outbox"
    audit_chains: int = Field(default=8, ge=1, le=1024)
    # In-process scheduled jobs (audit anchoring, …). Off in tests; with several workers each runs
    # them, which is safe because every job is idempotent.
    jobs_enabled: bool = True
    audit_anchor_seconds: int = Field(default=60, ge=5)
    exchange_rollup_seconds: int = Field(default=300, ge=5)
    secure_cookies: bool = False
    # Reverse proxies (comma-separated addresses or networks, e.g. "10.0.0.5,10.1.0.0/16") whose
    # X-Forwarded-Proto is believed: behind them the request scheme (https → HSTS, Secure cookies) is
    # the one the browser used. Empty: the header is ignored.
    trusted_proxies: str = ""
    # Strict-Transport-Security max-age sent over HTTPS; 0 sends none.
    hsts_seconds: int = Field(default=31_536_000, ge=0)

    def resolved_master_key(self) -> bytes:
        if self.master_key:
            key = bytes.fromhex(self.master_key)
        else:
            path = self.master_key_file
            if not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(secrets.token_hex(16))
                path.chmod(0o600)
            key = bytes.fromhex(path.read_text().strip())
        if len(key) != 16:
            raise ValueError("YIWANG_MASTER_KEY 必须是 32 位十六进制（128 位 SM4 密钥）")
        return key


@lru_cache
def get_settings() -> Settings:
    return Settings()
