"""Base registries held in the platform (基础库): population (人口) and legal persons (法人)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from yiwang.core.db import Base, UTCDateTime


class Person(Base):
    """One natural person in the population registry, keyed by the GB 11643 citizen ID."""

    __tablename__ = "registry_person"

    id: Mapped[int] = mapped_column(primary_key=True)
    citizen_id: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    gender: Mapped[str] = mapped_column(String(2))
    birth_date: Mapped[date] = mapped_column(Date)
    ethnicity: Mapped[str] = mapped_column(String(16), default="汉族")
    # GB/T 2260 county-level code of the household registration (户籍地).
    area_code: Mapped[str] = mapped_column(String(6), index=True)
    # 12-digit statistical division code of the community (社区/村) the person lives in.
    community_code: Mapped[str | None] = mapped_column(String(12), index=True)
    address: Mapped[str] = mapped_column(String(200))
    household_no: Mapped[str] = mapped_column(String(20), index=True)
    relation: Mapped[str] = mapped_column(String(8))  # 与户主关系: 户主/配偶/子女/父母 …
    phone: Mapped[str | None] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(8), default="正常")  # 正常 / 死亡 / 迁出
    source: Mapped[str] = mapped_column(String(64), default="市公安局")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LegalPerson(Base):
    """One legal person (enterprise, institution, social organisation), keyed by its GB 32100 code."""

    __tablename__ = "registry_legal_person"

    id: Mapped[int] = mapped_column(primary_key=True)
    credit_code: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(128), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # 企业 / 个体工商户 / 事业单位 / 社会组织 / 机关
    org_form: Mapped[str] = mapped_column(String(32))  # 有限责任公司 / 股份有限公司 / …
    legal_rep_citizen_id: Mapped[str] = mapped_column(String(18), index=True)
    legal_rep_name: Mapped[str] = mapped_column(String(64))
    registered_capital_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    established_on: Mapped[date] = mapped_column(Date)
    area_code: Mapped[str] = mapped_column(String(6), index=True)
    address: Mapped[str] = mapped_column(String(200))
    industry_code: Mapped[str] = mapped_column(String(8))  # GB/T 4754 门类+大类, e.g. "I65"
    industry_name: Mapped[str] = mapped_column(String(64))
    business_scope: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(8), default="存续")  # 存续 / 注销 / 吊销
    source: Mapped[str] = mapped_column(String(64), default="市市场监管局")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


Index("ix_registry_person_name", Person.name)
