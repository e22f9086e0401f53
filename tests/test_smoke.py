from sqlalchemy import select

from yiwang.registry.models import Person


def test_database_round_trip(session):
    assert session.scalars(select(Person).limit(1)).all() is not None
