"""What a demo-city build hands back: the accounts to try, the departments and the sample client."""

from __future__ import annotations

from dataclasses import dataclass

DEMO_PASSWORD = "Yiwang@2026"


@dataclass(frozen=True)
class DemoAccount:
    key: str  # "citizen", "enterprise", "agent", "clerk", … (the role key)
    username: str
    password: str
    display_name: str
    role_label: str  # in Chinese, e.g. 综合窗口人员
    kind: str  # citizen / enterprise / staff
    citizen_id: str
    department: str | None  # the staff member's unit, by name
    on_behalf_of: str | None  # the credit code an enterprise login acts for


@dataclass(frozen=True)
class DemoClient:
    client_id: str
    client_secret: str
    redirect_uri: str


@dataclass(frozen=True)
class DemoCityInfo:
    seed: int
    people: int
    enterprises: int
    city_unit_id: int
    accounts: dict[str, DemoAccount]
    departments: dict[str, int]  # short code ("gongan", "yunzhong.minzheng", …) → org unit id
    enterprise_credit_code: str
    client: DemoClient
    build_seconds: float
