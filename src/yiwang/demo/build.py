"""Build the demo city into a database, find it again, and print how to try it.

The registry rows go in through the database driver in chunks — `executemany` on SQLite, `COPY` on
PostgreSQL — never as ORM objects, so a million people build in flat memory. Everything else (the
organisation tree, accounts, the client) goes through the identity services. One transaction: a build
that fails leaves the database as empty as it found it.
"""

from __future__ import annotations

import hashlib
import random
import sys
import time
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Table, inspect, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from yiwang import catalog, exchange, identity, registry
from yiwang.core.db import Base, Database
from yiwang.core.errors import Conflict, Invalid
from yiwang.core.security import PLATFORM
from yiwang.demo.accounts import (
    ACCOUNT_KEYS,
    DEMO_REDIRECT_URI,
    DEMO_SCOPES,
    client_secret_for,
    create_accounts,
    create_client,
    create_marriage_client,
)
from yiwang.demo.enterprises import LEGAL_PERSON_COLUMNS, generate_enterprises
from yiwang.demo.info import DEMO_PASSWORD, DemoAccount, DemoCityInfo, DemoClient
from yiwang.demo.models import DemoCity
from yiwang.demo.orgs import build_org_tree
from yiwang.demo.people import PERSON_COLUMNS, generate_people
from yiwang.demo.registries import build_department_registries

Progress = Callable[[str, int, int], None]

# The demo bulk-loads the registries and reads the identity tables for its fingerprint, by table name
# (the owning modules register them in Base.metadata) rather than through their `models` modules,
# which DESIGN §3 keeps private. It still depends on those tables' columns: when `registry` offers a
# bulk-load function (governance will need one too), the loading here should move onto it.
_TABLES = Base.metadata.tables
PERSON = _TABLES["registry_person"]
LEGAL_PERSON = _TABLES["registry_legal_person"]
ORG_UNIT = _TABLES["identity_org_unit"]
ACCOUNT = _TABLES["identity_account"]
STAFF_ROLE = _TABLES["identity_staff_role"]
ENTERPRISE_AGENT = _TABLES["identity_enterprise_agent"]
OIDC_CLIENT = _TABLES["identity_oidc_client"]
DEMO_CITY = DemoCity.__table__

DEFAULT_PEOPLE = 100_000
DEFAULT_ENTERPRISES = 10_000
DEFAULT_SEED = 2026
TEST_PEOPLE = 300
TEST_ENTERPRISES = 40
MIN_PEOPLE = 200
CHUNK = 20_000


def stderr_progress(stage: str, done: int, total: int) -> None:
    """A progress line on stderr: `yiwang demo` prints these while a large city builds."""
    labels = {"orgs": "组织机构", "people": "人口", "enterprises": "法人", "accounts": "演示账号"}
    print(f"  {labels.get(stage, stage)} {done:,}/{total:,}", file=sys.stderr, flush=True)


def stamp_for(seed: int) -> datetime:
    """The `updated_at` of every generated row: derived from the seed, never from the wall clock."""
    return datetime(2025, 12, 31, 16, 0, tzinfo=UTC) + timedelta(seconds=seed % 86_400)


# ------------------------------------------------------------------------------------------ bulk rows
class BulkWriter:
    """Appends tuples to one table through the driver: executemany (SQLite) or COPY (PostgreSQL)."""

    def __init__(self, connection: Connection, table: Table, columns: Sequence[str]) -> None:
        self.dialect = connection.dialect
        self.raw = connection.connection.driver_connection
        self.table = table
        self.columns = tuple(columns)
        cols = ", ".join(columns)
        if self.dialect.name == "postgresql":
            self.sql = f"COPY {table.name} ({cols}) FROM STDIN"
        else:
            marks = ", ".join("?" for _ in columns)
            self.sql = f"INSERT INTO {table.name} ({cols}) VALUES ({marks})"

    def convert(self, column: str) -> Callable[[Any], Any]:
        """What the driver needs for a value of `column` (e.g. ISO text for dates on SQLite)."""
        processor = self.table.c[column].type.dialect_impl(self.dialect).bind_processor(self.dialect)
        return processor or _identity

    def __call__(self, rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        cursor = self.raw.cursor()
        try:
            if self.dialect.name == "postgresql":
                with cursor.copy(self.sql) as copy:
                    write_row = copy.write_row
                    for row in rows:
                        write_row(row)
            else:
                cursor.executemany(self.sql, rows)
        finally:
            cursor.close()


def _identity(value: Any) -> Any:
    return value


# ------------------------------------------------------------------------------------------ build
def _has_city(session: Session) -> bool:
    for table in (ORG_UNIT, PERSON, LEGAL_PERSON, DEMO_CITY):
        if session.execute(select(table.c.id).limit(1)).first() is not None:
            return True
    return False


def build_city(
    database: Database,
    *,
    people: int = DEFAULT_PEOPLE,
    enterprises: int = DEFAULT_ENTERPRISES,
    seed: int = DEFAULT_SEED,
    progress: Progress | None = None,
    backbone: bool = True,
) -> DemoCityInfo:
    """Build the city into an empty database; the same seed and sizes always give the same rows.

    `backbone=False` leaves out the department registries and the resource catalog (the test city:
    each module's tests make the rows they are about).

    Refuses (Conflict) when the database already holds organisation units, people, legal persons or
    a demo city."""
    if people < MIN_PEOPLE:
        raise Invalid.on("people", f"演示城市至少需要 {MIN_PEOPLE} 人")
    if enterprises < 1:
        raise Invalid.on("enterprises", "演示城市至少需要 1 家企业")
    started = time.perf_counter()
    stamp = stamp_for(seed)
    with database.session() as session:
        if _has_city(session):
            raise Conflict(
                detail="数据库中已有组织机构、人口或法人数据，演示城市只能建在空库上"
                "（the database is not empty: build the demo city into a fresh database）"
            )
        identity.ensure_builtin_roles(session)
        tree = build_org_tree(session, random.Random(f"yiwang-demo:{seed}:orgs"))
        if progress:
            progress(
                "orgs",
                len(tree.departments) + len(tree.communities),
                len(tree.departments) + len(tree.communities),
            )

        connection = session.connection()
        cache_was = _bigger_sqlite_cache(connection)
        person_writer = BulkWriter(connection, PERSON, PERSON_COLUMNS)
        person_stamp = person_writer.convert("updated_at")(stamp)
        population = generate_people(
            seed=seed,
            tree=tree,
            count=people,
            legal_rep_quota=enterprises,
            write=person_writer,
            fmt_date=person_writer.convert("birth_date"),
            updated_at=person_stamp,
            chunk=CHUNK,
            progress=progress,
        )
        lp_writer = BulkWriter(connection, LEGAL_PERSON, LEGAL_PERSON_COLUMNS)
        firms = generate_enterprises(
            seed=seed,
            tree=tree,
            count=enterprises,
            legal_reps=population.legal_reps,
            demo_rep=population.showcase[1],
            write=lp_writer,
            fmt_date=lp_writer.convert("established_on"),
            updated_at=lp_writer.convert("updated_at")(stamp),
            chunk=CHUNK,
            progress=progress,
        )
        del population.legal_reps[:]
        _restore_sqlite_cache(connection, cache_was)

        accounts = create_accounts(session, tree=tree, people=population, credit_code=firms.demo_credit_code)
        client = create_client(session, tree=tree, seed=seed)
        if progress:
            progress("accounts", len(accounts), len(ACCOUNT_KEYS))
        if backbone:
            build_data_backbone(
                session,
                tree.departments,
                seed=seed,
                client_id=client.client_id,
                citizen_id=accounts["citizen"].citizen_id,
                credit_code=firms.demo_credit_code,
                progress=progress,
            )
        seconds = round(time.perf_counter() - started, 3)
        info = DemoCityInfo(
            seed=seed,
            people=population.count,
            enterprises=firms.count,
            city_unit_id=tree.city_id,
            accounts=accounts,
            departments=dict(tree.departments),
            enterprise_credit_code=firms.demo_credit_code,
            client=client,
            build_seconds=seconds,
        )
        session.add(
            DemoCity(
                seed=seed,
                people=info.people,
                enterprises=info.enterprises,
                built_at=stamp,
                build_seconds=seconds,
                info=_info_json(info, firms.demo_name),
            )
        )
    _after_bulk_load(database)
    return info


def build_data_backbone(
    session: Session,
    departments: dict[str, int],
    *,
    seed: int,
    client_id: str,
    citizen_id: str,
    credit_code: str,
    progress: Progress | None = None,
) -> None:
    """The department registries (户籍, 婚姻, 社保, 不动产 …) of the city's people and enterprises, the
    resource catalog that describes and mounts them, and a month of sharing: grants (the sample
    client may read 人口基本信息), open and refused requests, calls and the demo citizen's data-use log."""
    rows = build_department_registries(session, rng_seed=seed)
    if progress:
        progress("registries", sum(rows.values()), sum(rows.values()))
    keys = [spec.key for spec in registry.resources()]
    entries = catalog.seed_demo_catalog(session, PLATFORM, departments, keys)
    if progress:
        progress("catalog", entries, entries)
    shared = exchange.seed_demo_exchange(
        session,
        PLATFORM,
        departments=departments,
        marriage_client_id=create_marriage_client(session, departments=departments, seed=seed),
        demo_client_id=client_id,
        citizen_id=citizen_id,
        credit_code=credit_code,
        seed=seed,
    )
    if progress:
        progress("exchange", shared.calls, shared.calls)


# SQLite page cache while the registries load: the random-order index inserts (citizen ID, name) of a
# million rows miss a small cache constantly. Bounded, and set back when the load is done.
BULK_CACHE_KIB = 32 * 1024


def _bigger_sqlite_cache(connection: Connection) -> int | None:
    if connection.dialect.name != "sqlite":
        return None
    was = connection.exec_driver_sql("PRAGMA cache_size").scalar_one()
    connection.exec_driver_sql(f"PRAGMA cache_size=-{BULK_CACHE_KIB}")
    return int(was)


def _restore_sqlite_cache(connection: Connection, was: int | None) -> None:
    if was is not None:
        connection.exec_driver_sql(f"PRAGMA cache_size={was}")


def _after_bulk_load(database: Database) -> None:
    """Fresh planner statistics on PostgreSQL; fold the write-ahead log back on SQLite."""
    with database.engine.connect() as conn:
        if database.dialect == "postgresql":
            conn.exec_driver_sql(f"ANALYZE {PERSON.name}")
            conn.exec_driver_sql(f"ANALYZE {LEGAL_PERSON.name}")
            conn.commit()
        elif ":memory:" not in database.url:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def _info_json(info: DemoCityInfo, enterprise_name: str) -> dict[str, Any]:
    return {
        "city_unit_id": info.city_unit_id,
        "departments": info.departments,
        "enterprise_credit_code": info.enterprise_credit_code,
        "enterprise_name": enterprise_name,
        "client_id": info.client.client_id,
        "redirect_uri": info.client.redirect_uri,
        "accounts": [
            {k: v for k, v in account.__dict__.items() if k != "password"}
            for account in info.accounts.values()
        ],
    }


def _info_from_row(row: DemoCity) -> DemoCityInfo:
    data = row.info
    accounts = {a["key"]: DemoAccount(password=DEMO_PASSWORD, **a) for a in data["accounts"]}
    return DemoCityInfo(
        seed=row.seed,
        people=row.people,
        enterprises=row.enterprises,
        city_unit_id=data["city_unit_id"],
        accounts=accounts,
        departments={k: int(v) for k, v in data["departments"].items()},
        enterprise_credit_code=data["enterprise_credit_code"],
        client=DemoClient(
            client_id=data["client_id"],
            client_secret=client_secret_for(row.seed),
            redirect_uri=data.get("redirect_uri", DEMO_REDIRECT_URI),
        ),
        build_seconds=row.build_seconds,
    )


def load_city(database: Database) -> DemoCityInfo | None:
    """The demo city this database holds, or None."""
    if not inspect(database.engine).has_table(DemoCity.__tablename__):
        raise RuntimeError(
            "数据库缺少 demo_city 表：请先运行 `yiwang db upgrade`（run the migrations first）"
        )
    with database.session() as session:
        row = session.scalars(select(DemoCity).order_by(DemoCity.id).limit(1)).first()
        return _info_from_row(row) if row is not None else None


def ensure_demo_city(
    database: Database,
    *,
    people: int = DEFAULT_PEOPLE,
    enterprises: int = DEFAULT_ENTERPRISES,
    seed: int = DEFAULT_SEED,
    progress: Progress | None = stderr_progress,
) -> DemoCityInfo:
    """Build the city if the database is empty; otherwise return the city it already holds.

    An existing city is kept as it is even when the sizes or seed asked for differ (a note goes to
    stderr); build into a fresh database to change them."""
    existing = load_city(database)
    if existing is None:
        if progress:
            print(
                f"正在生成演示城市（seed={seed}，{people:,} 人，{enterprises:,} 家企业）…",
                file=sys.stderr,
                flush=True,
            )
        return build_city(database, people=people, enterprises=enterprises, seed=seed, progress=progress)
    asked = (seed, people, enterprises)
    have = (existing.seed, existing.people, existing.enterprises)
    if asked != have and progress:
        print(
            f"数据库中已有演示城市（seed={have[0]}，{have[1]:,} 人，{have[2]:,} 家企业），沿用现有城市；"
            "如需重新生成，请使用新的空数据库。",
            file=sys.stderr,
            flush=True,
        )
    return existing


def build_test_city(database: Database) -> DemoCityInfo:
    """The small city every test worker starts from: the whole organisation tree and every account,
    a few hundred people and a few dozen enterprises. Built once, then found again."""
    existing = load_city(database)
    if existing is not None:
        return existing
    return build_city(
        database, people=TEST_PEOPLE, enterprises=TEST_ENTERPRISES, seed=DEFAULT_SEED, backbone=False
    )


# ------------------------------------------------------------------------------------------ fingerprint
FINGERPRINT_COLUMNS: tuple[tuple[Table, tuple[str, ...]], ...] = (
    (ORG_UNIT, tuple(c.name for c in ORG_UNIT.columns)),
    (PERSON, tuple(c.name for c in PERSON.columns)),
    (LEGAL_PERSON, tuple(c.name for c in LEGAL_PERSON.columns)),
    # Not the password hashes (salted) nor the creation times (wall clock).
    (ACCOUNT, ("id", "username", "kind", "display_name", "citizen_id", "phone", "department_id", "title")),
    (STAFF_ROLE, ("account_id", "role_code", "org_unit_id")),
    (ENTERPRISE_AGENT, ("credit_code", "agent_account_id", "granted_by_account_id", "scope")),
    (OIDC_CLIENT, ("client_id", "secret_hash", "name", "owner_unit_id", "redirect_uris", "grant_types")),
    (DEMO_CITY, ("seed", "people", "enterprises", "built_at", "info")),
)


def city_fingerprint(database: Database) -> dict[str, str]:
    """SHA-256 per table over the city's rows in id order: equal for two builds with one seed."""
    result: dict[str, str] = {}
    with database.engine.connect() as conn:
        for table, columns in FINGERPRINT_COLUMNS:
            digest = hashlib.sha256()
            order = table.c.id if "id" in table.c else table.c[columns[0]]
            query = select(*(table.c[c] for c in columns)).order_by(order)
            for row in conn.execution_options(yield_per=CHUNK).execute(query):
                digest.update(repr(tuple(row)).encode())
                digest.update(b"\n")
            result[table.name] = digest.hexdigest()
    return result


# ------------------------------------------------------------------------------------------ printing
TRY: dict[str, str] = {
    "citizen": "办事、查进度、看证照、查看谁用了我的数据 (apply, track cases, e-licences, data-use log)",
    "enterprise": "以企业身份登录办事、授权经办人 (act for the enterprise, authorise agents)",
    "agent": "代企业办事（获法定代表人授权）(act for the enterprise as its authorised agent)",
    "clerk": "综合窗口代办、受理、发证 (one-window intake and hand-out)",
    "approver": "审批待办、签署意见、加盖印章 (approve tasks, sign with the seal)",
    "data_officer": "维护目录、审核共享申请、装载数据 (catalog, sharing requests, data loads)",
    "dispatcher": "受理 12345 诉求并按责派单 (hotline intake and dispatch)",
    "grid_worker": "网格巡查、上报并处置事件 (report and handle grid events)",
    "handler": "办理转派的诉求与事件 (handle dispatched requests and events)",
    "leader": "驾驶舱、预警、督办 (cockpit, warnings, supervision)",
    "dept_admin": "管理本部门人员和角色 (manage 市民政局 staff and roles only)",
    "admin": "组织机构、账号、接入系统、审计 (org tree, accounts, clients, audit)",
    "auditor": "核验审计链 (verify the audit chain; read-only)",
}


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _width(text))


def _table(rows: Iterable[Sequence[str]]) -> list[str]:
    rows = [list(r) for r in rows]
    widths = [max(_width(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        lines.append("  " + "  ".join(_pad(cell, widths[i]) for i, cell in enumerate(row)).rstrip())
        if n == 0:
            lines.append("  " + "  ".join("-" * w for w in widths))
    return lines


def print_demo_accounts(info: DemoCityInfo, base_url: str, file: Any = None) -> None:
    """Print the demo accounts, the enterprise login and the sample client, in Chinese with English
    hints, for the person who just ran `yiwang demo`."""
    out = file or sys.stdout
    base = base_url.rstrip("/")
    rows: list[Sequence[str]] = [("角色 Role", "用户名 Username", "密码 Password", "试一试 Try")]
    for key in ACCOUNT_KEYS:
        account = info.accounts.get(key)
        if account is None:
            continue
        label = account.role_label
        if account.department:
            unit = account.department
            label = f"{label}·{'市' + unit[3:] if unit.startswith('云川市') else unit}"
        rows.append((label, account.username, account.password, TRY.get(key, "")))
    enterprise = info.accounts.get("enterprise")
    agent = info.accounts.get("agent")
    lines = [
        "",
        f"一网 Yiwang 演示城市：辽宁省云川市（seed {info.seed}，"
        f"{info.people:,} 人，{info.enterprises:,} 家企业）",
        f"Demo city ready — open {base}/",
        "",
        "演示账号 Demo accounts（密码均为 all passwords: " + DEMO_PASSWORD + "）",
        *_table(rows),
        "",
    ]
    if enterprise is not None:
        lines += [
            "企业登录 Enterprise login",
            f"  统一社会信用代码 Credit code : {info.enterprise_credit_code}",
            f"  法定代表人 Legal rep        : {enterprise.display_name}，用户名 {enterprise.username}",
            f"  登录后选择以该企业身份办理 (then act for it: on_behalf_of={info.enterprise_credit_code})",
        ]
        if agent is not None:
            lines.append(
                f"  获授权经办人 Agent          : {agent.display_name}，用户名 {agent.username}"
                "（同样可代该企业办事）"
            )
        lines.append("")
    lines += [
        "示例接入系统 Sample relying party (OIDC)",
        f"  Client ID     : {info.client.client_id}",
        f"  Client secret : {info.client.client_secret}",
        f"  Redirect URI  : {info.client.redirect_uri}",
        f"  Discovery     : {base}/.well-known/openid-configuration",
        "  授权码 + PKCE 流程 authorization code + PKCE",
        f"  作用域 Scopes  : {DEMO_SCOPES}",
        "  首次登录该系统会显示授权确认页（未设为免确认） "
        "(a first sign-in shows the consent screen: this sample RP is not pre-consented)",
        "",
        "实名注册短信 Registration SMS：本地短信适配器把短信存入发件箱，用 `yiwang sms` 查看验证码 "
        "(the local SMS adapter keeps texts in an outbox: `yiwang sms` prints them)",
        "",
        "共享数据接口 Shared-data API（该系统已获 人口基本信息 授权，用途“政务服务身份核验”）",
        f"  curl -s -u {info.client.client_id}:{info.client.client_secret} "
        f"-d grant_type=client_credentials {base}/oidc/token",
        '  curl -s -G -H "Authorization: Bearer <access_token>" '
        f"--data-urlencode subject={info.accounts['citizen'].citizen_id} "
        f"--data-urlencode purpose=政务服务身份核验 {base}/api/v1/exchange/data/population",
        "  然后以个人用户登录，在“我的数据使用记录”(/me/data-use) 看到这次查询 "
        "(then sign in as the citizen: the call shows on /me/data-use)",
        "",
    ]
    print("\n".join(lines), file=out, flush=True)
