"""The demo city (yiwang.demo): deterministic, valid identifiers, sound households, every role can log in."""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.conftest import fresh_database_url
from yiwang import demo, identity
from yiwang.core import ids
from yiwang.core.crypto import sm3_hex
from yiwang.core.db import Base, Database, load_all_models, make_engine
from yiwang.core.errors import Conflict, Invalid
from yiwang.core.security import PLATFORM
from yiwang.demo import names
from yiwang.demo.accounts import ACCOUNT_KEYS, STAFF
from yiwang.demo.orgs import CITY_DEPARTMENTS, DISTRICT_DEPARTMENTS
from yiwang.identity.models import Account, EnterpriseAgent, OidcClient, OrgUnit, StaffRole
from yiwang.identity.service.auth import check_password
from yiwang.registry.models import LegalPerson, Person

PEOPLE = 2_000
ENTERPRISES = 200


@pytest.fixture(scope="module")
def new_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], Database]]:
    """A factory of empty databases with the full schema (SQLite, or PostgreSQL when configured)."""
    load_all_models()
    base = Path(tmp_path_factory.mktemp("demo"))
    with ExitStack() as stack:

        def make(tag: str) -> Database:
            url = stack.enter_context(fresh_database_url(base, tag))
            engine = make_engine(url)
            Base.metadata.create_all(engine)
            database = Database(url, engine=engine)
            stack.callback(database.dispose)
            return database

        yield make


@pytest.fixture(scope="module")
def built(new_database: Callable[[str], Database]) -> tuple[Database, demo.DemoCityInfo]:
    database = new_database("built")
    return database, demo.build_city(database, people=PEOPLE, enterprises=ENTERPRISES, seed=7)


def _rows(database: Database, *columns):
    with database.session() as s:
        return s.execute(select(*columns)).all()


# ------------------------------------------------------------------------------------------ determinism
def test_same_seed_builds_the_same_city_and_another_seed_does_not(new_database, built):
    database, info = built
    again = new_database("again")
    info2 = demo.build_city(again, people=PEOPLE, enterprises=ENTERPRISES, seed=7)
    first, second = demo.city_fingerprint(database), demo.city_fingerprint(again)
    assert first == second
    assert {k: v for k, v in info.__dict__.items() if k != "build_seconds"} == {
        k: v for k, v in info2.__dict__.items() if k != "build_seconds"
    }

    other = new_database("other")
    demo.build_city(other, people=PEOPLE, enterprises=ENTERPRISES, seed=8)
    third = demo.city_fingerprint(other)
    for table in ("registry_person", "registry_legal_person", "identity_account", "demo_city"):
        assert third[table] != first[table], table


def test_more_enterprises_do_not_change_the_population(new_database, built):
    database, _ = built
    bigger = new_database("bigger")
    demo.build_city(bigger, people=PEOPLE, enterprises=ENTERPRISES * 2, seed=7)
    a, b = demo.city_fingerprint(database), demo.city_fingerprint(bigger)
    assert a["registry_person"] == b["registry_person"]
    assert a["identity_org_unit"] == b["identity_org_unit"]
    assert a["registry_legal_person"] != b["registry_legal_person"]


# ------------------------------------------------------------------------------------------ population
def test_every_citizen_id_is_valid_unique_and_matches_the_person(built):
    database, info = built
    rows = _rows(database, Person.citizen_id, Person.gender, Person.birth_date, Person.area_code)
    assert len(rows) == info.people == PEOPLE
    assert len({r.citizen_id for r in rows}) == PEOPLE
    for cid, gender, birth, _area in rows:
        parsed = ids.validate_citizen_id(cid)
        assert parsed.gender == gender and parsed.birth_date == birth
    born_here = sum(1 for r in rows if r.citizen_id.startswith("2195"))
    assert 0.7 * PEOPLE < born_here < PEOPLE  # most were born in the city, some elsewhere


def test_households_have_one_head_and_share_an_address(built):
    database, _ = built
    rows = _rows(
        database,
        Person.household_no,
        Person.relation,
        Person.address,
        Person.community_code,
        Person.area_code,
    )
    heads = Counter(r.household_no for r in rows if r.relation == "户主")
    households = {r.household_no for r in rows}
    assert set(heads) == households and set(heads.values()) == {1}
    by_household: dict[str, set[tuple[str, str | None]]] = {}
    for r in rows:
        by_household.setdefault(r.household_no, set()).add((r.address, r.community_code))
        assert r.community_code.startswith(r.area_code) and len(r.community_code) == 12
    assert all(len(v) == 1 for v in by_household.values())
    relations = Counter(r.relation for r in rows)
    assert set(relations) == {"户主", "配偶", "子女", "父母"}
    assert 2.0 < len(rows) / len(households) < 3.0  # 户均人口, as in the north-east


def test_population_looks_like_a_city(built):
    database, _ = built
    rows = _rows(database, Person.birth_date, Person.status, Person.phone, Person.name, Person.gender)
    on = date(2025, 12, 31)
    ages = [(on - r.birth_date).days // 365 for r in rows]
    assert min(ages) >= 0 and max(ages) <= 101
    assert 0.05 < sum(a < 10 for a in ages) / len(ages) < 0.15
    assert 0.15 < sum(a >= 60 for a in ages) / len(ages) < 0.40
    status = Counter(r.status for r in rows)
    assert status["正常"] > 0.95 * len(rows) and status["死亡"] > 0 and status["迁出"] > 0
    assert all(r.phone is None or (len(r.phone) == 11 and r.phone.startswith("1")) for r in rows)
    assert all(2 <= len(r.name) <= 4 for r in rows)
    surnames = Counter(r.name[0] for r in rows)
    assert {"王", "李", "张"} <= {s for s, _ in surnames.most_common(6)}
    assert 0.45 < sum(r.gender == "男" for r in rows) / len(rows) < 0.55


# ------------------------------------------------------------------------------------------ legal persons
def test_every_credit_code_is_valid_and_every_legal_rep_is_a_registered_person(built):
    database, info = built
    rows = _rows(
        database,
        LegalPerson.credit_code,
        LegalPerson.kind,
        LegalPerson.legal_rep_citizen_id,
        LegalPerson.legal_rep_name,
        LegalPerson.established_on,
        LegalPerson.registered_capital_fen,
        LegalPerson.name,
    )
    # The department registries add the public schools (事业单位) that pupils attend.
    rows = [r for r in rows if r.kind != "事业单位"]
    assert len(rows) == info.enterprises == ENTERPRISES
    assert len({r.credit_code for r in rows}) == ENTERPRISES
    assert len({r.name for r in rows}) == ENTERPRISES
    people = dict(_rows(database, Person.citizen_id, Person.name))
    births = dict(_rows(database, Person.citizen_id, Person.birth_date))
    for r in rows:
        parsed = ids.validate_credit_code(r.credit_code)
        assert parsed.authority + parsed.org_type in {"91", "92", "93", "51", "52", "53"}
        assert people[r.legal_rep_citizen_id] == r.legal_rep_name
        assert r.established_on.year - births[r.legal_rep_citizen_id].year >= 18
        assert r.registered_capital_fen >= 0 and r.registered_capital_fen % 100 == 0
    kinds = Counter(r.kind for r in rows)
    assert kinds["企业"] > kinds["个体工商户"] > kinds["社会组织"] > 0
    assert rows[0].credit_code == info.enterprise_credit_code


# ------------------------------------------------------------------------------------------ organisation
def test_the_tree_has_five_levels_and_the_departments(built):
    database, info = built
    with database.session() as s:
        units = {u.id: u for u in s.scalars(select(OrgUnit))}
    by_kind = Counter(u.kind for u in units.values())
    assert by_kind["province"] == 1 and by_kind["city"] == 1 and by_kind["district"] == 5
    levels = {"province": 0, "city": 1, "district": 2, "street": 3, "community": 4}
    for u in units.values():
        if u.kind in levels:
            assert u.level == levels[u.kind]
            assert len(u.region_code) == 12 and u.code == u.region_code
            if u.parent_id is not None:
                parent = units[u.parent_id]
                assert parent.level == u.level - 1
                assert u.path == f"{parent.path}{u.id}/"
    for district in (u for u in units.values() if u.kind == "district"):
        streets = [u for u in units.values() if u.parent_id == district.id and u.kind == "street"]
        assert 4 <= len(streets) <= 6
        for street in streets:
            assert street.region_code.startswith(district.region_code[:6])
            communities = [u for u in units.values() if u.parent_id == street.id]
            assert 5 <= len(communities) <= 8
            assert all(
                c.kind == "community" and c.region_code[:9] == street.region_code[:9] for c in communities
            )
    city = units[info.city_unit_id]
    assert city.kind == "city" and city.name == "云川市"
    expected = {short for short, *_ in CITY_DEPARTMENTS}
    expected |= {f"{key}.{suffix}" for key, *_ in names.DISTRICTS for suffix, *_ in DISTRICT_DEPARTMENTS}
    assert set(info.departments) == expected
    for short, unit_id in info.departments.items():
        unit = units[unit_id]
        assert unit.code == short and unit.kind in ("department", "unit")
        assert ids.is_valid_credit_code(unit.credit_code) and unit.credit_code[:2] in ("11", "12")
    seeded = "gongan minzheng renshe yibao weijian jiaoyu shichang shuiwu ziranziyuan zhujian chengguan"
    for short in (*seeded.split(), "yingji", "shengtai", "yingshang", "dashuju"):
        assert units[info.departments[short]].parent_id == city.id, short
    assert units[info.departments["budongchan"]].parent_id == info.departments["ziranziyuan"]
    assert units[info.departments["zhengwu"]].parent_id == info.departments["yingshang"]
    assert units[info.departments["rexian"]].name == "云川市12345政务服务便民热线中心"
    minzheng_districts = [units[i] for k, i in info.departments.items() if k.endswith(".minzheng")]
    assert len(minzheng_districts) == 5 and all(
        units[u.parent_id].kind == "district" for u in minzheng_districts
    )


# ------------------------------------------------------------------------------------------ accounts
def test_every_role_has_an_account_that_can_log_in(built):
    database, info = built
    assert set(info.accounts) == set(ACCOUNT_KEYS)
    people = dict(_rows(database, Person.citizen_id, Person.name))
    for key, account in info.accounts.items():
        assert account.key == key and account.password == demo.DEMO_PASSWORD
        assert people[account.citizen_id] == account.display_name  # real-name bound
        account_id = check_password(database, account.username, account.password, "127.0.0.1")
        assert account_id > 0
    assert len({a.citizen_id for a in info.accounts.values()}) == len(info.accounts)
    assert info.accounts["citizen"].username == info.accounts["citizen"].citizen_id
    assert [info.accounts[s.key].username for s in STAFF] == [
        "clerk", "approver", "dataofficer", "dispatcher", "gridworker", "handler", "leader", "deptadmin",
        "admin", "auditor",
    ]  # fmt: skip


def test_staff_hold_their_roles_where_they_work(built):
    database, info = built
    with database.session() as s:
        grants = {
            (a.username, g.role_code): (g.org_unit_id, a.department_id)
            for a, g in s.execute(
                select(Account, StaffRole).join(StaffRole, StaffRole.account_id == Account.id)
            )
        }
        community = s.get(OrgUnit, grants[("gridworker", "grid_worker")][0])
        province = s.scalars(select(OrgUnit).where(OrgUnit.kind == "province")).one()
    d = info.departments
    assert grants[("clerk", "window_clerk")] == (d["zhengwu"], d["zhengwu"])
    assert grants[("approver", "approver")] == (d["shichang"], d["shichang"])
    assert grants[("dataofficer", "data_officer")] == (d["gongan"], d["gongan"])
    assert grants[("dispatcher", "dispatcher")] == (d["rexian"], d["rexian"])
    assert grants[("handler", "handler")] == (d["chengguan"], d["chengguan"])
    assert grants[("leader", "leader")][0] == info.city_unit_id
    assert grants[("deptadmin", "dept_admin")] == (d["minzheng"], d["minzheng"])
    assert grants[("admin", "platform_admin")] == (province.id, d["dashuju"])
    assert grants[("auditor", "auditor")] == (info.city_unit_id, d["dashuju"])
    assert community.kind == "community"
    assert len(grants) == len(STAFF)  # one role each


def test_the_enterprise_account_and_its_agent_can_act_for_the_enterprise(built):
    database, info = built
    code = info.enterprise_credit_code
    with database.session() as s:
        rep = identity.find_account(s, info.accounts["enterprise"].username)
        agent = identity.find_account(s, info.accounts["agent"].username)
        citizen = identity.find_account(s, info.accounts["citizen"].username)
        assert identity.can_act_for(s, rep, code)
        assert identity.can_act_for(s, agent, code)
        assert not identity.can_act_for(s, citizen, code)
        grant = s.scalars(select(EnterpriseAgent)).one()
        lp = s.scalars(select(LegalPerson).where(LegalPerson.credit_code == code)).one()
    assert grant.agent_account_id == agent.id and grant.granted_by_account_id == rep.id
    assert lp.legal_rep_citizen_id == info.accounts["enterprise"].citizen_id and lp.status == "存续"
    assert info.accounts["enterprise"].on_behalf_of == info.accounts["agent"].on_behalf_of == code


def test_the_sample_client_is_registered_with_the_printed_secret(built):
    database, info = built
    with database.session() as s:
        client = s.scalars(select(OidcClient).where(OidcClient.client_id == info.client.client_id)).one()
    assert client.secret_hash == sm3_hex(info.client.client_secret.encode())
    assert client.redirect_uris == [info.client.redirect_uri] == ["http://127.0.0.1:9000/callback"]
    assert set(client.grant_types) == {"authorization_code", "refresh_token", "client_credentials"}
    assert set(client.allowed_scopes.split()) >= {"openid", "profile", "phone", "idcard", "enterprise"}
    assert client.owner_unit_id == info.departments["dashuju"] and client.is_confidential


def test_the_client_goes_through_register_client_when_identity_exports_it(new_database, monkeypatch):
    from yiwang.identity.service.oidc import register_client

    monkeypatch.setattr(identity, "register_client", register_client, raising=False)
    database = new_database("rc")
    info = demo.build_city(database, people=300, enterprises=10, seed=11)
    with database.session() as s:
        clients = s.scalars(select(OidcClient)).all()
    by_id = {c.client_id: c for c in clients}
    assert sorted(by_id) == ["demo-minzheng-hydj", "demo-rp"]
    assert by_id["demo-rp"].secret_hash == sm3_hex(info.client.client_secret.encode())
    assert info.client.client_secret == demo.load_city(database).client.client_secret


# ------------------------------------------------------------------------------------------ finding it again
def test_a_city_is_found_again_and_never_built_twice(built):
    database, info = built
    assert demo.ensure_demo_city(database, people=PEOPLE, enterprises=ENTERPRISES, seed=7) == info
    # Other sizes or seeds keep the city that is there.
    assert demo.ensure_demo_city(database, people=10, enterprises=1, seed=1, progress=None) == info
    with pytest.raises(Conflict):
        demo.build_city(database, people=PEOPLE, enterprises=ENTERPRISES, seed=7)
    with database.session() as s:
        assert s.scalar(select(func.count()).select_from(Person)) == PEOPLE


def test_a_database_with_other_data_is_refused(new_database):
    database = new_database("other-data")
    with database.session() as s:
        province = identity.OrgUnitCreate(code="210000000000", name="辽宁省", kind="province")
        identity.create_org_unit(s, PLATFORM, province)
    with pytest.raises(Conflict):
        demo.build_city(database, people=300, enterprises=10)
    with pytest.raises(Conflict):
        demo.ensure_demo_city(database, people=300, enterprises=10, seed=1, progress=None)
    with database.session() as s:  # nothing half-written
        assert s.scalar(select(func.count()).select_from(OrgUnit)) == 1
        assert s.scalar(select(func.count()).select_from(Person)) == 0


def test_sizes_too_small_are_refused(new_database):
    database = new_database("small")
    with pytest.raises(Invalid):
        demo.build_city(database, people=50, enterprises=10)
    with pytest.raises(Invalid):
        demo.build_city(database, people=300, enterprises=0)


def test_the_test_city_has_every_account_and_department(city, database):
    assert set(city.accounts) == set(ACCOUNT_KEYS)
    assert {"gongan", "minzheng", "dashuju", "zhengwu", "rexian", "budongchan"} <= set(city.departments)
    assert demo.build_test_city(database) == city  # found again, not built twice
    assert city.people == 300 and city.enterprises == 40


# ------------------------------------------------------------------------------------------ printing
def test_the_printout_names_every_account_and_the_client(built):
    _, info = built
    out = io.StringIO()
    demo.print_demo_accounts(info, "http://127.0.0.1:8000/", file=out)
    text = out.getvalue()
    for account in info.accounts.values():
        assert account.username in text
    for needle in (
        demo.DEMO_PASSWORD,
        info.enterprise_credit_code,
        info.client.client_id,
        info.client.client_secret,
        info.client.redirect_uri,
        "http://127.0.0.1:8000/.well-known/openid-configuration",
        "演示账号",
    ):
        assert needle in text
