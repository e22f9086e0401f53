"""Chinese full-text search (rjieba → SQLite FTS5 / PostgreSQL tsvector): two-character words, ranking,
visibility and re-indexing. Runs on both back ends (set YIWANG_TEST_DATABASE_URL for PostgreSQL)."""

from __future__ import annotations

import pytest

from tests.identity.helpers import problem
from yiwang.catalog.service.search import fts5_query, index_terms, query_clauses, tsquery

from .conftest import API, draft, publish, url


def test_index_terms_hold_jieba_words_single_characters_and_bigrams():
    terms = set(index_terms(["婚姻登记信息", "Citizen_ID 101001/000001"]))
    assert {"婚姻", "登记", "婚姻登记", "信息"} <= terms
    assert {"姻登", "记信"} <= terms  # bigrams across jieba's cuts
    assert {"婚", "姻"} <= terms
    assert {"citizen", "id", "101001", "000001"} <= terms
    assert all(t == t.lower() and "/" not in t and " " not in t for t in terms)


def test_query_clauses_and_their_two_dialects():
    clauses = query_clauses("婚姻登记 API")
    assert [c.term for c in clauses] == ["婚姻登记", "api"]
    assert clauses[0].bigrams == ("婚姻", "姻登", "登记") and clauses[1].prefix
    assert fts5_query(clauses) == '("婚姻登记" OR ("婚姻" AND "姻登" AND "登记")) AND "api"*'
    assert tsquery(clauses) == "('婚姻登记' | ('婚姻' & '姻登' & '登记')) & 'api':*"
    assert query_clauses("“”，。!!") == []
    # Quotes and operators never reach the query language.
    assert fts5_query(query_clauses('婚姻" OR "x')) == '"婚姻" AND "or"* AND "x"*'


@pytest.fixture
def catalogue(client, officer_h, admin_h, other_officer_h):
    """Three published entries and a draft, named with the words people search for."""
    marriage = publish(
        client,
        other_officer_h,
        admin_h,
        name="婚姻登记信息",
        category_code="317001",
        abstract="结婚、离婚登记记录，可替代婚姻状况证明",
    )
    household = publish(
        client,
        officer_h,
        admin_h,
        name="户籍登记信息",
        category_code="101002",
        abstract="户号、户主、与户主关系，可替代户籍证明",
    )
    social = publish(
        client,
        other_officer_h,
        admin_h,
        name="社会保险缴费信息",
        category_code="203001",
        abstract="按月、按险种的缴费明细，可替代社保缴费证明",
    )
    hidden = draft(
        client,
        officer_h,
        name="婚姻家庭纠纷调解草稿",
        category_code="312001",
        abstract="尚未发布的草稿目录，用于测试可见范围",
    )
    return {"marriage": marriage, "household": household, "social": social, "hidden": hidden}


def search(client, headers, q: str, **params) -> list[str]:
    r = client.get(f"{API}/search", headers=headers, params={"q": q, "limit": 100, **params})
    assert r.status_code == 200, r.text
    return [x["code"] for x in r.json()["items"]]


@pytest.mark.parametrize(
    ("q", "key"),
    [
        ("婚姻", "marriage"),
        ("户籍", "household"),
        ("社保", "social"),
        ("社会保险", "social"),
        ("缴费", "social"),
        ("离婚", "marriage"),
        ("户主", "household"),
        ("婚姻登记", "marriage"),
    ],
)
def test_two_character_words_are_found(client, clerk_h, catalogue, q, key):
    codes = search(client, clerk_h, q)
    assert catalogue[key]["code"] in codes
    others = {k for k in ("marriage", "household", "social") if k != key}
    assert not any(catalogue[k]["code"] in codes for k in others if q not in ("登记",))


def test_items_codes_and_providers_are_searchable(client, clerk_h, catalogue):
    assert catalogue["household"]["code"] in search(client, clerk_h, "公民身份号码")
    assert catalogue["household"]["code"] in search(client, clerk_h, "citizen")
    assert search(client, clerk_h, catalogue["social"]["code"])[0] == catalogue["social"]["code"]
    assert catalogue["household"]["code"] in search(client, clerk_h, "公安")
    assert catalogue["marriage"]["code"] in search(client, clerk_h, "市民政局")


def test_all_words_must_match_and_names_rank_first(client, clerk_h, catalogue):
    assert search(client, clerk_h, "婚姻 户籍") == []
    codes = search(client, clerk_h, "登记")
    assert {catalogue["marriage"]["code"], catalogue["household"]["code"]} <= set(codes)
    # The query as typed in the name beats a match in the abstract only.
    codes = search(client, clerk_h, "户籍")
    assert codes[0] == catalogue["household"]["code"]


def test_drafts_are_found_only_by_their_department(client, officer_h, clerk_h, other_officer_h, catalogue):
    assert catalogue["hidden"]["code"] in search(client, officer_h, "纠纷调解")
    assert search(client, other_officer_h, "纠纷调解") == []
    assert search(client, clerk_h, "纠纷调解") == []
    assert catalogue["marriage"]["code"] not in search(client, officer_h, "婚姻", status="draft")


def test_search_filters_combine(client, clerk_h, catalogue):
    assert search(client, clerk_h, "登记", department_id=catalogue["household"]["department_id"]) == [
        catalogue["household"]["code"]
    ]


def test_an_edit_is_reindexed(client, officer_h, catalogue):
    code = catalogue["hidden"]["code"]
    r = client.patch(url(code), json={"name": "邻里矛盾化解记录"}, headers=officer_h)
    assert r.status_code == 200
    assert code in search(client, officer_h, "邻里")
    assert code not in search(client, officer_h, "纠纷调解")


def test_bad_queries(client, clerk_h, citizen_h):
    problem(client.get(f"{API}/search", headers=clerk_h, params={"q": ""}), 422)
    problem(client.get(f"{API}/search", headers=clerk_h, params={"q": "户" * 201}), 422)
    assert client.get(f"{API}/search", headers=clerk_h, params={"q": "，。！"}).json()["total"] == 0
    problem(client.get(f"{API}/search", headers=citizen_h, params={"q": "户籍"}), 403)
