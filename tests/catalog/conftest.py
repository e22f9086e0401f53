"""Fixtures of the catalog tests: bearer headers for the demo city's accounts, a second department's
data officer, a system client, and helpers that draft and publish entries through the API."""

from __future__ import annotations

from typing import Any

import pytest

from tests import helpers
from tests.helpers import audit_rows, count_queries  # noqa: F401
from tests.identity.helpers import login_api
from yiwang import identity
from yiwang.core.security import PLATFORM

# The demo accounts' bearer headers, shared with the other modules' tests (tests/helpers.py).
admin_h = helpers.admin_h
citizen_h = helpers.citizen_h
officer_h = helpers.officer_h


API = "/api/v1/catalog"
PASSWORD = "Catalog@2026test"


@pytest.fixture
def clerk_h(client, city) -> dict[str, str]:
    """A window clerk (staff, no catalog role) of 市政务服务中心."""
    return login_api(client, city.accounts["clerk"])


def _token(db, account_id: int | None, client_id: str | None = None, scope: str = "api") -> dict[str, str]:
    with db.session() as s:
        token = identity.issue_token(s, account_id=account_id, client_id=client_id, scope=scope, kind="api")
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def minzheng_officer(db, city) -> tuple[int, dict[str, str]]:
    """A data officer of 市民政局 (another department): (account id, bearer headers)."""
    dept = city.departments["minzheng"]
    with db.session() as s:
        created = identity.create_staff_account(
            s,
            PLATFORM,
            identity.StaffAccountCreate(
                username="mzofficer",
                display_name="民政数据员",
                citizen_id="11010519491231002X",
                department_id=dept,
                password=PASSWORD,
                roles=[identity.RoleGrantCreate(role_code="data_officer", org_unit_id=dept)],
            ),
        )
        account_id = created.account.id
    return account_id, _token(db, account_id)


@pytest.fixture
def other_officer_h(minzheng_officer) -> dict[str, str]:
    return minzheng_officer[1]


@pytest.fixture
def system_h(db, city) -> dict[str, str]:
    """A registered government system (client credentials of the demo client)."""
    return _token(db, None, city.client.client_id, scope="catalog.read")


# ---------------------------------------------------------------- bodies and shortcuts

POPULATION_ITEMS = [
    {
        "field_name": "citizen_id",
        "name": "公民身份号码",
        "data_type": "string",
        "length": 18,
        "grade": "important",
        "sensitive_personal": True,
        "masking": "id",
    },
    {"field_name": "name", "name": "姓名", "grade": "important", "masking": "name"},
    {"field_name": "gender", "name": "性别"},
    {"field_name": "birth_date", "name": "出生日期", "data_type": "date", "masking": "date_to_year"},
    {"field_name": "address", "name": "住址", "grade": "important", "masking": "address"},
]


def entry_body(**over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "category_code": "101001",
        "name": "户籍人口测试信息",
        "abstract": "全市户籍人口的身份、户籍地和住址信息，供政务服务核验身份使用",
        "form": "table",
        "sharing_type": "conditional",
        "sharing_condition": "用于政务服务事项办理中的身份核验，须说明依据",
        "sharing_method": "exchange",
        "open_type": "none",
        "update_cycle": "realtime",
        "contact_name": "王建华",
        "contact_phone": "024-81234567",
        "items": [dict(i) for i in POPULATION_ITEMS],
    }
    body.update(over)
    return body


def draft(client, headers, **over: Any) -> dict[str, Any]:
    r = client.post(f"{API}/entries", json=entry_body(**over), headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


def url(code: str) -> str:
    return f"{API}/entries/{code.replace('/', '-')}"


def publish(client, officer_h, admin_h, **over: Any) -> dict[str, Any]:
    entry = draft(client, officer_h, **over)
    r = client.post(f"{url(entry['code'])}/submit", headers=officer_h)
    assert r.status_code == 200, r.text
    r = client.post(
        f"{url(entry['code'])}/review", json={"decision": "approve", "opinion": "同意"}, headers=admin_h
    )
    assert r.status_code == 200, r.text
    return r.json()


def free_resource(client, admin_h, key: str) -> None:
    """Make sure registry resource `key` has no live mount (the demo city may have mounted it)."""
    for row in client.get(f"{API}/resources", headers=admin_h).json():
        if row["key"] == key and row["mounted_by"]:
            r = client.post(
                f"{url(row['mounted_by'])}/unmount", json={"reason": "测试前解除"}, headers=admin_h
            )
            assert r.status_code == 200, r.text


def bulk_publish(
    db, city, n: int, *, dept: str = "minzheng", prefix: str = "批量目录", **over: Any
) -> list[str]:
    """Publish `n` entries straight through the services (fast set-up for list tests); their codes."""
    from yiwang import catalog

    codes = []
    with db.session() as s:
        for i in range(n):
            body = entry_body(name=f"{prefix}{i:03d}", department_id=city.departments[dept], **over)
            e = catalog.draft_entry(s, PLATFORM, catalog.EntryCreate.model_validate(body))
            catalog.submit_entry(s, PLATFORM, e.code)
            catalog.review_entry(s, PLATFORM, e.code, catalog.Review(decision="approve"))
            codes.append(e.code)
    return codes
