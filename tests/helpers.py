"""Helpers shared by the module tests: the demo accounts' bearer headers (fixtures, imported by the
modules' conftest files), audit-chain lookups and a SQL statement counter."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event, func, select

from tests.identity.helpers import login_api, problem
from yiwang.core.audit import AuditRecord

__all__ = ["admin_h", "audit_count", "audit_rows", "citizen_h", "count_queries", "officer_h", "problem"]


@pytest.fixture
def officer_h(client, city) -> dict[str, str]:
    """The demo city's data officer of 市公安局 (provider of population, household, no-criminal-record)."""
    return login_api(client, city.accounts["data_officer"])


@pytest.fixture
def admin_h(client, city) -> dict[str, str]:
    """The platform administrator."""
    return login_api(client, city.accounts["admin"])


@pytest.fixture
def citizen_h(client, city) -> dict[str, str]:
    """The demo citizen."""
    return login_api(client, city.accounts["citizen"])


def audit_rows(db, action: str, result: str | None = None, subject: str | None = None) -> list[AuditRecord]:
    """The audit records of `action` (optionally of one result / subject), oldest first, detached."""
    with db.session() as s:
        q = select(AuditRecord).where(AuditRecord.action == action).order_by(AuditRecord.id)
        if result:
            q = q.where(AuditRecord.result == result)
        if subject is not None:
            q = q.where(AuditRecord.subject == subject)
        rows = list(s.scalars(q))
        s.expunge_all()
        return rows


def audit_count(db, action: str, result: str | None = None) -> int:
    with db.session() as s:
        q = select(func.count()).select_from(AuditRecord).where(AuditRecord.action == action)
        if result:
            q = q.where(AuditRecord.result == result)
        return int(s.scalar(q) or 0)


@contextmanager
def count_queries(db) -> Iterator[list[str]]:
    """Collect the SQL statements run on `db` inside the block."""
    statements: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", before)
