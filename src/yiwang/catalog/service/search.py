"""Chinese full-text search over the catalog (rjieba + SQLite FTS5 / PostgreSQL tsvector).

Index side: the entry's code, name, abstract, provider, category names, conditions and every item's
Chinese name and field name are cut with rjieba's search mode (婚姻登记信息 → 婚姻, 登记, 婚姻登记, 信息),
and every run of Chinese characters also gives its single characters and its bigrams, so a
two-character word is found even where jieba keeps it inside a longer word. Terms are lower-case
runs of `[0-9a-z]` or of CJK characters, never mixed, so both back ends see the same lexemes.

* SQLite: the terms, space separated, are a row of the FTS5 table `catalog_entry_fts` (rowid =
  entry id); FTS5's unicode61 tokenizer splits on the spaces only.
* PostgreSQL: `catalog_entry.search_vector = array_to_tsvector(terms)` with a GIN index. The terms
  are the lexemes as they are: the same as `to_tsvector('simple', …)` on a UTF-8 locale, but
  independent of the database's LC_CTYPE (under the C locale the text-search parser drops CJK).

Query side: the query is cut with rjieba's accurate mode; every term must match. A Chinese term
longer than two characters matches itself or all of its bigrams (户籍地址 → 户籍地址 OR (户籍 AND
籍地 AND 地址)); Latin and digit terms match as prefixes (api → api*, 101001 → 101001*).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import rjieba
from sqlalchemy import (
    ColumnElement,
    Integer,
    bindparam,
    cast,
    column,
    delete,
    func,
    insert,
    literal_column,
    update,
)
from sqlalchemy import table as sql_table
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from yiwang.catalog import vocab
from yiwang.catalog.models import SQLITE_FTS_TABLE, CatalogEntry

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TERM = re.compile(rf"[0-9a-z]+|[{_CJK}]+")
_CJK_RUN = re.compile(rf"[{_CJK}]+")
MAX_QUERY_TERMS = 16

_FTS = sql_table(SQLITE_FTS_TABLE, column("rowid", Integer), column("tokens"))


def _terms_of(text: str) -> Iterable[str]:
    for token in rjieba.cut_for_search(text):
        yield from _TERM.findall(token)


def index_terms(texts: Iterable[str | None]) -> list[str]:
    """The sorted, distinct index terms of `texts`."""
    terms: set[str] = set()
    for raw in texts:
        if not raw:
            continue
        text = str(raw).lower()
        terms.update(_terms_of(text))
        for run in _CJK_RUN.findall(text):
            terms.update(run)
            terms.update(run[i : i + 2] for i in range(len(run) - 1))
    return sorted(terms)


def entry_texts(entry: CatalogEntry, items: Iterable[Any]) -> list[str]:
    texts = [
        entry.code,
        entry.code.replace("/", " "),
        entry.category_code,
        *vocab.category_path(entry.category_code),
        entry.name,
        entry.abstract,
        entry.provider_name,
        entry.sharing_condition,
        entry.open_condition,
        vocab.label(vocab.FORMS, entry.form),
        vocab.label(vocab.SHARING_TYPES, entry.sharing_type),
        vocab.label(vocab.OPEN_TYPES, entry.open_type),
    ]
    for item in items:
        texts.append(item.name)
        texts.append(item.field_name.replace("_", " "))
        texts.append(item.description)
    return texts


def reindex_entry(session: Session, entry: CatalogEntry, items: Iterable[Any]) -> None:
    """Write the entry's search terms (call after a flush, when the entry has its id)."""
    terms = index_terms(entry_texts(entry, items))
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            update(CatalogEntry)
            .where(CatalogEntry.id == entry.id)
            .values(
                search_vector=func.array_to_tsvector(
                    bindparam("terms", terms, type_=postgresql.ARRAY(postgresql.TEXT))
                )
            )
            .execution_options(synchronize_session=False)
        )
        return
    session.execute(delete(_FTS).where(_FTS.c.rowid == entry.id))
    session.execute(insert(_FTS).values(rowid=entry.id, tokens=" ".join(terms)))


@dataclass(frozen=True)
class Clause:
    term: str
    bigrams: tuple[str, ...] = ()
    prefix: bool = False


def query_clauses(q: str) -> list[Clause]:
    """The query's terms, each with its fallback bigrams; [] when nothing searchable is left."""
    out: list[Clause] = []
    seen: set[str] = set()
    for token in rjieba.cut((q or "").lower()):
        for term in _TERM.findall(token):
            if term in seen:
                continue
            seen.add(term)
            if _CJK_RUN.fullmatch(term):
                bigrams = tuple(term[i : i + 2] for i in range(len(term) - 1)) if len(term) > 2 else ()
                out.append(Clause(term, bigrams))
            else:
                out.append(Clause(term, prefix=True))
            if len(out) >= MAX_QUERY_TERMS:
                return out
    return out


def fts5_query(clauses: list[Clause]) -> str:
    parts = []
    for c in clauses:
        word = f'"{c.term}"' + ("*" if c.prefix else "")
        if c.bigrams:
            word = f"({word} OR ({' AND '.join(f'{chr(34)}{b}{chr(34)}' for b in c.bigrams)}))"
        parts.append(word)
    return " AND ".join(parts)


def tsquery(clauses: list[Clause]) -> str:
    parts = []
    for c in clauses:
        word = f"'{c.term}'" + (":*" if c.prefix else "")
        if c.bigrams:
            word = f"({word} | ({' & '.join(f'{chr(39)}{b}{chr(39)}' for b in c.bigrams)}))"
        parts.append(word)
    return " & ".join(parts)


def apply_search(session: Session, stmt: Any, clauses: list[Clause]) -> tuple[Any, ColumnElement[Any]]:
    """`stmt` (selecting from catalog_entry) restricted to entries matching `clauses`, and a rank
    expression to order by (ascending = best first)."""
    if session.get_bind().dialect.name == "postgresql":
        query = cast(bindparam("tsq", tsquery(clauses)), postgresql.TSQUERY)
        stmt = stmt.where(CatalogEntry.search_vector.op("@@")(query))
        return stmt, -func.ts_rank(CatalogEntry.search_vector, query)
    stmt = stmt.join(_FTS, _FTS.c.rowid == CatalogEntry.id).where(
        literal_column(SQLITE_FTS_TABLE).op("MATCH")(bindparam("ftsq", fts5_query(clauses)))
    )
    return stmt, func.bm25(literal_column(SQLITE_FTS_TABLE))
