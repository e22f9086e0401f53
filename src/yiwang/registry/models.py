"""Base registries held in the platform (基础库).

* population (人口) and legal persons (法人): the foundation's two base registries;
* the department registries that zero-proof services draw on: household (户籍), no criminal record
  (无犯罪记录), marriage (婚姻登记), social-insurance contributions (社保缴费), property rights
  (不动产权), tax status (纳税状态), birth medical certificates (出生医学证明), school enrolment (学籍);
* `ExternalSource`: department systems reached live through the exchange (like an X-Road security
  server), with the credential the platform presents to them sealed at rest.

Every registry row is keyed by its subject (a GB 11643 citizen ID or a GB 32100 credit code, indexed)
and carries `source` (the owning department's name) and `updated_at`. Each table has a natural unique
key — the conflict target of `bulk_write(mode="upsert")` (see `yiwang.registry.resources`).
Units: money in integer fen, floor areas in integer square centimetres (cm²; 89.56 m² = 895 600),
months as "YYYYMM" text, times timezone-aware and stored UTC.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Date, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from yiwang.core.db import Base, UTCDateTime


def Code(length: int) -> String:  # noqa: N802 - used like a type
    """Identifiers and codes (citizen IDs, credit codes, division codes, certificate numbers): text
    compared byte by byte. On PostgreSQL the column gets COLLATE "C" — the same order as the usual
    C.UTF-8 / en_US order for these ASCII codes, but index builds and lookups skip the locale machinery
    (about a quarter less server time for a bulk load) and a prefix LIKE can use the index. Comparing
    it with a column of the database's default collation is fine: "C" wins."""
    return String(length).with_variant(String(length, collation="C"), "postgresql")


class Person(Base):
    """One natural person in the population registry, keyed by the GB 11643 citizen ID."""

    __tablename__ = "registry_person"

    id: Mapped[int] = mapped_column(primary_key=True)
    citizen_id: Mapped[str] = mapped_column(Code(18), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    gender: Mapped[str] = mapped_column(String(2))
    birth_date: Mapped[date] = mapped_column(Date)
    ethnicity: Mapped[str] = mapped_column(String(16), default="汉族")
    # GB/T 2260 county-level code of the household registration (户籍地).
    area_code: Mapped[str] = mapped_column(Code(6), index=True)
    # 12-digit statistical division code of the community (社区/村) the person lives in.
    community_code: Mapped[str | None] = mapped_column(Code(12), index=True)
    address: Mapped[str] = mapped_column(String(200))
    household_no: Mapped[str] = mapped_column(Code(20), index=True)
    relation: Mapped[str] = mapped_column(String(8))  # 与户主关系: 户主/配偶/子女/父母 …
    phone: Mapped[str | None] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(8), default="正常")  # 正常 / 死亡 / 迁出
    source: Mapped[str] = mapped_column(String(64), default="市公安局")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LegalPerson(Base):
    """One legal person (enterprise, institution, social organisation), keyed by its GB 32100 code."""

    __tablename__ = "registry_legal_person"

    id: Mapped[int] = mapped_column(primary_key=True)
    credit_code: Mapped[str] = mapped_column(Code(18), unique=True)
    name: Mapped[str] = mapped_column(String(128), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # 企业 / 个体工商户 / 事业单位 / 社会组织 / 机关
    org_form: Mapped[str] = mapped_column(String(32))  # 有限责任公司 / 股份有限公司 / …
    legal_rep_citizen_id: Mapped[str] = mapped_column(Code(18), index=True)
    legal_rep_name: Mapped[str] = mapped_column(String(64))
    registered_capital_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    established_on: Mapped[date] = mapped_column(Date)
    area_code: Mapped[str] = mapped_column(Code(6), index=True)
    address: Mapped[str] = mapped_column(String(200))
    industry_code: Mapped[str] = mapped_column(String(8))  # GB/T 4754 门类+大类, e.g. "I65"
    industry_name: Mapped[str] = mapped_column(String(64))
    business_scope: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(8), default="存续")  # 存续 / 注销 / 吊销
    source: Mapped[str] = mapped_column(String(64), default="市市场监管局")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


Index("ix_registry_person_name", Person.name)


# ------------------------------------------------------------------------------------------ 公安
class Household(Base):
    """户籍 (公安): one person's household registration — what a 户籍证明 states.

    Its own table rather than a view over `registry_person`: the household registry is the police's
    record (登记日期, 登记原因, 派出所) that the population registry aggregates; keeping both lets
    governance cross-check 户号 and 与户主关系 between them (一数一源), and a file load can write it.
    """

    __tablename__ = "registry_household"

    id: Mapped[int] = mapped_column(primary_key=True)
    citizen_id: Mapped[str] = mapped_column(Code(18), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    household_no: Mapped[str] = mapped_column(Code(20), index=True)  # 户号
    household_type: Mapped[str] = mapped_column(String(8), default="家庭户")  # 家庭户 / 集体户
    head_citizen_id: Mapped[str] = mapped_column(Code(18))  # 户主公民身份号码
    head_name: Mapped[str] = mapped_column(String(64))  # 户主姓名
    relation: Mapped[str] = mapped_column(String(8))  # 与户主关系
    address: Mapped[str] = mapped_column(String(200))  # 户籍地址
    area_code: Mapped[str] = mapped_column(Code(6))
    community_code: Mapped[str | None] = mapped_column(Code(12), index=True)
    police_station: Mapped[str] = mapped_column(String(64))  # 登记机关（派出所）
    registered_on: Mapped[date] = mapped_column(Date)  # 登记日期（本户入户日期）
    reason: Mapped[str] = mapped_column(String(16))  # 登记原因: 出生登记 / 迁入 / 婚姻迁入 / 立户 …
    status: Mapped[str] = mapped_column(String(8), default="正常")  # 正常 / 迁出 / 死亡注销
    source: Mapped[str] = mapped_column(String(64), default="市公安局")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class NoCriminalRecord(Base):
    """无犯罪记录 (公安): whether a person has a criminal record; the summary only if there is one."""

    __tablename__ = "registry_no_criminal_record"

    id: Mapped[int] = mapped_column(primary_key=True)
    citizen_id: Mapped[str] = mapped_column(Code(18), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    has_record: Mapped[bool] = mapped_column(Boolean, default=False)
    record_summary: Mapped[str | None] = mapped_column(Text)
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime)  # 核查时间
    source: Mapped[str] = mapped_column(String(64), default="市公安局")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


# ------------------------------------------------------------------------------------------ 民政
class Marriage(Base):
    """婚姻登记 (民政): one marriage or divorce registration; party A is 男方, party B 女方.

    certificate_no is the 结婚证/离婚证字号, "J219502-2015-000123" (J 结婚, L 离婚, office area code,
    year, sequence)."""

    __tablename__ = "registry_marriage"

    id: Mapped[int] = mapped_column(primary_key=True)
    certificate_no: Mapped[str] = mapped_column(Code(32), unique=True)
    kind: Mapped[str] = mapped_column(String(4))  # 结婚 / 离婚
    party_a_citizen_id: Mapped[str] = mapped_column(Code(18), index=True)
    party_a_name: Mapped[str] = mapped_column(String(64))
    party_b_citizen_id: Mapped[str] = mapped_column(Code(18), index=True)
    party_b_name: Mapped[str] = mapped_column(String(64))
    registered_on: Mapped[date] = mapped_column(Date)
    office: Mapped[str] = mapped_column(String(64))  # 登记机关
    office_area_code: Mapped[str] = mapped_column(Code(6), index=True)
    source: Mapped[str] = mapped_column(String(64), default="市民政局")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


# ------------------------------------------------------------------------------------------ 人社
class SocialInsurance(Base):
    """社保缴费 (人社): one month of one insurance type for one person — many rows per person."""

    __tablename__ = "registry_social_insurance"
    __table_args__ = (UniqueConstraint("citizen_id", "insurance_type", "month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    citizen_id: Mapped[str] = mapped_column(Code(18))  # indexed by the unique key (its first column)
    name: Mapped[str] = mapped_column(String(64))
    insurance_type: Mapped[str] = mapped_column(String(4))  # 养老 / 医疗 / 失业 / 工伤 / 生育
    employer_credit_code: Mapped[str | None] = mapped_column(Code(18), index=True)  # None: 灵活就业
    month: Mapped[str] = mapped_column(Code(6))  # 费款所属期 YYYYMM
    base_fen: Mapped[int] = mapped_column(BigInteger)  # 缴费基数
    amount_fen: Mapped[int] = mapped_column(BigInteger)  # 应缴合计（单位 + 个人）
    personal_fen: Mapped[int] = mapped_column(BigInteger)  # 其中个人缴纳
    status: Mapped[str] = mapped_column(String(4), default="已缴")  # 已缴 / 欠缴 / 补缴
    area_code: Mapped[str] = mapped_column(Code(6), index=True)  # 参保经办地
    source: Mapped[str] = mapped_column(String(64), default="市人社局")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


# ------------------------------------------------------------------------------------------ 自然资源
class Property(Base):
    """不动产权 (自然资源/不动产登记): one certificate for one owner (a citizen or a legal person).

    co-owned homes (共同共有) carry one certificate per owner with the same 不动产单元号. Floor area is
    integer cm² (the certificate's 2-decimal m² × 10 000, exact)."""

    __tablename__ = "registry_property"

    id: Mapped[int] = mapped_column(primary_key=True)
    # 不动产权证号: 辽（2021）云川市不动产权第0001234号
    certificate_no: Mapped[str] = mapped_column(Code(48), unique=True)
    unit_no: Mapped[str] = mapped_column(Code(28), index=True)  # 不动产单元号 (28 chars)
    owner_id: Mapped[str] = mapped_column(Code(18), index=True)  # citizen ID or credit code
    owner_kind: Mapped[str] = mapped_column(String(4))  # 权利人类型: 个人 / 单位
    owner_name: Mapped[str] = mapped_column(String(128))
    co_ownership: Mapped[str] = mapped_column(String(8), default="单独所有")  # 单独所有 / 共同共有 / 按份共有
    location: Mapped[str] = mapped_column(String(200))  # 坐落
    community_code: Mapped[str] = mapped_column(Code(12), index=True)
    area_cm2: Mapped[int] = mapped_column(BigInteger)  # 建筑面积 (cm²)
    usage: Mapped[str] = mapped_column(String(16))  # 用途: 住宅 / 商业 / 办公 / 工业 / 车位
    right_type: Mapped[str] = mapped_column(String(32))  # 国有建设用地使用权/房屋所有权 …
    registered_on: Mapped[date] = mapped_column(Date)
    mortgaged: Mapped[bool] = mapped_column(Boolean, default=False)  # 抵押
    seized: Mapped[bool] = mapped_column(Boolean, default=False)  # 查封
    status: Mapped[str] = mapped_column(String(4), default="现势")  # 现势 / 注销
    source: Mapped[str] = mapped_column(String(64), default="市自然资源局")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


# ------------------------------------------------------------------------------------------ 税务
class TaxStatus(Base):
    """纳税状态 (税务): one taxpayer's standing, keyed by credit code."""

    __tablename__ = "registry_tax_status"

    id: Mapped[int] = mapped_column(primary_key=True)
    credit_code: Mapped[str] = mapped_column(Code(18), unique=True)
    taxpayer_name: Mapped[str] = mapped_column(String(128))
    taxpayer_type: Mapped[str] = mapped_column(String(16))  # 一般纳税人 / 小规模纳税人
    credit_grade: Mapped[str] = mapped_column(String(1))  # 纳税信用级别 A / B / M / C / D
    has_arrears: Mapped[bool] = mapped_column(Boolean, default=False)  # 欠税
    arrears_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    last_period: Mapped[str] = mapped_column(Code(6))  # 最近申报所属期 YYYYMM
    status: Mapped[str] = mapped_column(String(8), default="正常")  # 正常 / 非正常 / 注销
    tax_authority: Mapped[str] = mapped_column(String(64))  # 主管税务机关
    area_code: Mapped[str] = mapped_column(Code(6), index=True)
    source: Mapped[str] = mapped_column(String(64), default="市税务局")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


# ------------------------------------------------------------------------------------------ 卫健
class BirthCertificate(Base):
    """出生医学证明 (卫健): certificate_no is one letter and nine digits ("Q210012345")."""

    __tablename__ = "registry_birth_certificate"

    id: Mapped[int] = mapped_column(primary_key=True)
    certificate_no: Mapped[str] = mapped_column(Code(16), unique=True)
    child_name: Mapped[str] = mapped_column(String(64))
    child_gender: Mapped[str] = mapped_column(String(2))
    birth_at: Mapped[datetime] = mapped_column(UTCDateTime)  # 出生时间
    gestational_weeks: Mapped[int] = mapped_column(Integer)
    weight_g: Mapped[int] = mapped_column(Integer)
    length_cm: Mapped[int] = mapped_column(Integer)
    hospital: Mapped[str] = mapped_column(String(128))  # 接生机构
    area_code: Mapped[str] = mapped_column(Code(6), index=True)  # 出生地
    mother_citizen_id: Mapped[str] = mapped_column(Code(18), index=True)
    mother_name: Mapped[str] = mapped_column(String(64))
    father_citizen_id: Mapped[str | None] = mapped_column(Code(18), index=True)
    father_name: Mapped[str | None] = mapped_column(String(64))
    child_citizen_id: Mapped[str | None] = mapped_column(Code(18), index=True)  # once assigned
    issued_on: Mapped[date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(64), default="市卫健委")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


# ------------------------------------------------------------------------------------------ 教育
class SchoolEnrolment(Base):
    """学籍 (教育): one pupil at one school; student_no is the national 学籍号 ("G" + citizen ID)."""

    __tablename__ = "registry_school_enrolment"
    __table_args__ = (UniqueConstraint("student_citizen_id", "school_credit_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    student_citizen_id: Mapped[str] = mapped_column(Code(18))  # indexed by the unique key
    student_name: Mapped[str] = mapped_column(String(64))
    student_no: Mapped[str] = mapped_column(Code(20))
    school_name: Mapped[str] = mapped_column(String(128))
    school_credit_code: Mapped[str] = mapped_column(Code(18), index=True)
    stage: Mapped[str] = mapped_column(String(4))  # 学段: 小学 / 初中 / 高中
    grade: Mapped[str] = mapped_column(String(16))  # 年级: 小学三年级 / 初中一年级 / 高中二年级 …
    enrolled_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(4), default="在读")  # 在读 / 休学 / 转出 / 毕业
    area_code: Mapped[str] = mapped_column(Code(6), index=True)  # the school's district
    source: Mapped[str] = mapped_column(String(64), default="市教育局")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


# ------------------------------------------------------------------------------------------ external
class ExternalSource(Base):
    """A department system that holds a registry itself, reached live through the exchange.

    `path_template` contains "{subject}"; the credential the platform presents (one header) is sealed
    with `yiwang.core.crypto.seal_secret` under the context "registry.external_source:<key>"."""

    __tablename__ = "registry_external_source"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(40), unique=True)  # the resource key
    base_url: Mapped[str] = mapped_column(String(500))
    path_template: Mapped[str] = mapped_column(String(300))
    timeout_ms: Mapped[int] = mapped_column(Integer, default=3000)
    auth_header_name: Mapped[str | None] = mapped_column(String(64))
    auth_header_sealed: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_by: Mapped[str] = mapped_column(String(64), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
