"""Fixtures and file builders for the governance tests: accounts, small population files in every
format and encoding, and helpers to read back what a load did."""

from __future__ import annotations

import csv
import io
import json
import random
from datetime import date, timedelta
from typing import Any

import polars as pl
import pytest

from tests import helpers
from tests.helpers import audit_count, audit_rows, problem  # noqa: F401
from yiwang.core.ids import generate_citizen_id
from yiwang.core.security import Actor, ActorKind

from ..identity.helpers import login_api

# The demo accounts' bearer headers, shared with the other modules' tests (tests/helpers.py).
admin_h = helpers.admin_h
citizen_h = helpers.citizen_h
officer_h = helpers.officer_h


API = "/api/v1/governance"
# Population columns a file must have (source and updated_at are filled by the loader).
POP_COLUMNS = (
    "citizen_id", "name", "gender", "birth_date", "ethnicity", "area_code", "community_code", "address",
    "household_no", "relation", "phone", "status",
)  # fmt: skip
SURNAMES = "王李张刘陈杨黄赵吴周"
GIVEN = "伟芳娜敏静丽强磊军洋"


def person(i: int, *, seed: int = 7, area: str = "110105") -> dict[str, str]:
    """A valid population row whose citizen ID nobody in the test city holds (Beijing area code)."""
    rng = random.Random(seed * 100_003 + i)
    male = rng.random() < 0.5
    birth = date(1950, 1, 1) + timedelta(days=rng.randrange(25_000))
    cid = generate_citizen_id(rng, area, birth, male)
    return {
        "citizen_id": cid,
        "name": SURNAMES[i % 10] + GIVEN[(i // 10) % 10] + GIVEN[i % 7],
        "gender": "男" if male else "女",
        "birth_date": birth.isoformat(),
        "ethnicity": "汉族",
        "area_code": area,
        "community_code": area + "001002",
        "address": f"北京市朝阳区建国路{i}号",
        "household_no": f"G{seed:03d}{i:06d}",
        "relation": "户主",
        "phone": f"139{i:08d}",
        "status": "正常",
    }


def people(n: int, *, seed: int = 7) -> list[dict[str, str]]:
    rows, seen = [], set()
    i = 0
    while len(rows) < n:
        row = person(i, seed=seed)
        i += 1
        if row["citizen_id"] not in seen:
            seen.add(row["citizen_id"])
            rows.append(row)
    return rows


def bad_check_digit(cid: str) -> str:
    """The same ID with a wrong (but well-formed) check character."""
    wrong = "1" if cid[-1] != "1" else "2"
    return cid[:-1] + wrong


def csv_bytes(
    rows: list[dict[str, Any]],
    *,
    encoding: str = "utf-8",
    columns: tuple[str, ...] | list[str] | None = None,
    bom: bool = False,
    header: list[str] | None = None,
) -> bytes:
    cols = list(columns or (rows[0].keys() if rows else POP_COLUMNS))
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header or cols)
    for row in rows:
        writer.writerow(["" if row.get(c) is None else row.get(c) for c in cols])
    data = buf.getvalue().encode(encoding)
    return (b"\xef\xbb\xbf" + data) if bom else data


def frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={c: pl.String for c in rows[0]})


def xlsx_bytes(rows: list[dict[str, Any]]) -> bytes:
    buf = io.BytesIO()
    frame(rows).write_excel(buf)
    return buf.getvalue()


def parquet_bytes(rows: list[dict[str, Any]]) -> bytes:
    buf = io.BytesIO()
    frame(rows).with_columns(pl.col("birth_date").str.to_date()).write_parquet(buf)
    return buf.getvalue()


def json_bytes(rows: list[dict[str, Any]], *, lines: bool = False) -> bytes:
    if lines:
        return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode()
    return json.dumps(rows, ensure_ascii=False).encode()


def upload(client, headers, data: bytes, filename: str = "people.csv", **form: str):
    fields = {"resource_key": "population", **form}
    return client.post(f"{API}/loads", headers=headers, data=fields, files={"file": (filename, data)})


def count_people(db, cids: list[str]) -> int:
    from yiwang.registry import subject_keys

    with db.session() as s:
        return len(subject_keys(s, "population", cids))


# ================================================================= fixtures


@pytest.fixture
def approver_h(client, city) -> dict[str, str]:
    """市市场监管局's approver: staff, but not a data officer."""
    return login_api(client, city.accounts["approver"])


@pytest.fixture
def second_officer(db, city):
    """A data officer of 市人社局 (created for the test, rolled back with it)."""
    from yiwang import identity
    from yiwang.core.security import PLATFORM
    from yiwang.demo import DEMO_PASSWORD

    with db.session() as s:
        renshe = city.departments["renshe"]
        created = identity.create_staff_account(
            s,
            PLATFORM,
            identity.StaffAccountCreate(
                username="renshe_data",
                display_name="人社数据员",
                citizen_id=generate_citizen_id(random.Random(5), "110105", date(1980, 1, 1), True),
                department_id=renshe,
                password=DEMO_PASSWORD,
                roles=[identity.RoleGrantCreate(role_code="data_officer", org_unit_id=renshe)],
            ),
        )
        account_id = created.account.id

    class _Account:
        username = "renshe_data"
        password = DEMO_PASSWORD
        id = account_id

    return _Account()


@pytest.fixture
def second_h(client, second_officer) -> dict[str, str]:
    return login_api(client, second_officer)


@pytest.fixture
def gongan_officer(city) -> Actor:
    """The service-level actor of 市公安局's data officer (no login needed)."""
    return Actor(
        kind=ActorKind.STAFF,
        account_id=None,
        name="公安数据员",
        roles=frozenset({"data_officer"}),
        department_id=city.departments["gongan"],
    )


@pytest.fixture
def renshe_officer(city) -> Actor:
    return Actor(
        kind=ActorKind.STAFF,
        name="人社数据员",
        roles=frozenset({"data_officer"}),
        department_id=city.departments["renshe"],
    )


@pytest.fixture
def shichang_officer(city) -> Actor:
    return Actor(
        kind=ActorKind.STAFF,
        name="市场监管数据员",
        roles=frozenset({"data_officer"}),
        department_id=city.departments["shichang"],
    )


DATA_TYPES = {"string": "string", "int": "integer", "money_fen": "integer", "date": "date",
              "datetime": "datetime", "bool": "boolean"}  # fmt: skip


@pytest.fixture
def population_entry(db, city) -> str:
    """The catalog entry population is mounted on (made for the test when the city has none)."""
    with db.session() as s:
        from yiwang import catalog, registry
        from yiwang.core.security import PLATFORM

        entry = catalog.entry_for_resource(s, "population")
        if entry is not None:
            return entry.code
        spec = registry.resource("population")
        draft = catalog.draft_entry(
            s,
            PLATFORM,
            catalog.EntryCreate(
                category_code="101001",
                name="人口基础信息（测试）",
                department_id=city.departments["gongan"],
                abstract="全市户籍人口的身份和户籍信息（测试用目录）",
                contact_name="王建华",
                contact_phone="024-12345678",
                form="table",
                sharing_type="conditional",
                sharing_condition="测试",
                sharing_method="exchange",
                update_cycle="realtime",
                items=[
                    catalog.ItemIn(field_name=f.name, name=f.label, data_type=DATA_TYPES[f.type])
                    for f in spec.fields
                ],
            ),
        )
        catalog.submit_entry(s, PLATFORM, draft.code)
        catalog.review_entry(s, PLATFORM, draft.code, catalog.Review(decision="approve", opinion="同意"))
        catalog.mount_entry(
            s, PLATFORM, draft.code, catalog.MountCreate(kind="resource", resource_key="population")
        )
        return draft.code
