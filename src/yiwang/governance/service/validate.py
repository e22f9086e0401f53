"""Vectorised validation (B4): every rule over every row in polars, no per-row Python.

`validate(spec, rules, frame, ...)` takes the text columns a file was read into (already renamed to
the resource's field names, plus the row number column) and returns

* ``good``: the rows that pass every check, typed for `registry.bulk_write` (dates as dates, integers
  as integers, IDs normalised: trimmed, upper case, full-width folded);
* ``rejected``: row number, subject, the row's values as JSON and every reason as JSON
  ``[{"field", "rule", "message"}]``;
* ``hits``: how many rows each rule (and each type check) failed;
* ``penalty``: the quality-score penalty of the rejected rows (see `quality_score`).

Check digits are computed with integer parsing in other bases: the GB 11643 weights are 2^k mod 11 and
13 ≡ 2 (mod 11), so the weighted sum is 2·int(first 17, base 13) mod 11; the GB 32100 weights are
3^k mod 31 and 34 ≡ 3 (mod 31), so the sum is int(reversed first 17, base 34) mod 31, split in two
halves that fit in 64 bits (see `yiwang.core.ids` for the scalar versions).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Final

import polars as pl

from yiwang import registry
from yiwang.core import clock
from yiwang.core.ids import AUTHORITIES, CREDIT_ALPHABET, PROVINCES
from yiwang.governance.service.reading import ROW
from yiwang.governance.service.rules import EARLIEST_DATE, Rule, type_weight

# (resource key, values) → the values that are subjects of that resource.
ExistingKeys = Callable[[str, list[str]], set[str]]

_CITIZEN_CHECK: Final = "10X98765432"
_ORG_CHECK: Final = "0X987654321"
_AUTH_TYPES: Final = sorted(a + t for a, (_, types) in AUTHORITIES.items() for t in types)
_CREDIT_AREAS: Final = sorted({*PROVINCES, "10"})
_PROVINCES: Final = sorted(PROVINCES)
_TRUE: Final = ("是", "true", "1", "y", "yes", "t", "有")
_FALSE: Final = ("否", "false", "0", "n", "no", "f", "无")
_DATE_FORMATS: Final = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y年%m月%d日", "%Y.%m.%d")
_DATETIME_FORMATS: Final = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S")
_TYPE_MESSAGES: Final = {
    "int": "应为整数",
    "money_fen": "应为整数金额（单位：分）",
    "date": "日期格式不正确（应为 YYYY-MM-DD）",
    "datetime": "时间格式不正确（应为 YYYY-MM-DD HH:MM:SS）",
    "bool": "应为“是”或“否”",
}


@dataclass
class Check:
    """One failing-row test: `fail` is a boolean expression with no nulls, `message` an expression
    evaluated only on failing rows."""

    name: str  # the hit-count key: "<fields>.<type>"
    field: str
    fail: pl.Expr
    message: pl.Expr
    weight: float
    # In-file duplicates (found by hash, confirmed exactly); unless the rule has its own message, the
    # message names the other rows, so it is built on the rejected rows.
    dup_fields: tuple[str, ...] | None = None
    dup_message: bool = False


@dataclass
class Outcome:
    good: pl.DataFrame
    rejected: pl.DataFrame  # ROW, subject, data, reasons (JSON text)
    hits: dict[str, int]
    penalty: float
    rows_read: int
    checks: list[str] = field(default_factory=list)


def _fail_name(i: int) -> str:
    return f"__fail{i}"


# ------------------------------------------------------------------ normalising and typing


def id_fields(spec: registry.ResourceSpec, rules: Iterable[Rule]) -> set[str]:
    """Fields holding citizen IDs or credit codes: normalised (upper case, full-width folded)."""
    out = {f for f in spec.field_names if f.endswith(("citizen_id", "credit_code"))}
    out.update(spec.subject_fields)
    for r in rules:
        if r.type in ("citizen_id", "credit_code", "reference"):
            out.add(r.field)
        if r.id_field:
            out.add(r.id_field)
    return out


def _normalise_ids(frame: pl.DataFrame, names: Iterable[str]) -> pl.DataFrame:
    """Upper-case, NFKC-fold and drop inner whitespace of ID columns — only where a value needs it
    (the common all-digits column is left alone at the cost of one scan)."""
    fixes = []
    for name in names:
        col = pl.col(name)
        if frame.select(col.str.contains(r"[^0-9A-Z]").any()).item():
            folded = col.str.normalize("NFKC").str.replace_all(r"\s+", "").str.to_uppercase()
            fixes.append(pl.when(col.str.contains(r"[^0-9A-Z]")).then(folded).otherwise(col).alias(name))
    return frame.with_columns(fixes) if fixes else frame


def _parse(col: pl.Expr, kind: str, *, fallback: bool) -> pl.Expr:
    """`col` (text) as `kind`; the common form only, or (fallback) every accepted form."""
    if kind in ("int", "money_fen"):
        # Spreadsheets hand integers over as "12" or "12.0".
        text = col.str.replace(r"\.0+$", "") if fallback else col
        return pl.when(text.str.contains(r"^[+-]?[0-9]{1,18}$")).then(text.str.to_integer(strict=False))
    if kind == "date":
        if not fallback:
            return col.str.to_date("%Y-%m-%d", strict=False)
        text = col.str.replace(r"[ T]00:00(:00(\.0+)?)?$", "")
        return pl.coalesce([text.str.to_date(fmt, strict=False) for fmt in _DATE_FORMATS])
    if kind == "datetime":
        text = col.str.replace(r"\.\d+$", "").str.replace(r"(Z|[+-]\d{2}:?\d{2})$", "") if fallback else col
        formats = _DATETIME_FORMATS if fallback else _DATETIME_FORMATS[:1]
        parsed = pl.coalesce([text.str.to_datetime(fmt, strict=False, time_unit="us") for fmt in formats])
        if fallback:
            parsed = pl.coalesce([parsed, text.str.to_date("%Y-%m-%d", strict=False).cast(pl.Datetime("us"))])
        # Times without a zone are Beijing time; stored as UTC.
        return parsed.dt.replace_time_zone("Asia/Shanghai").dt.convert_time_zone("UTC")
    if kind == "bool":
        low = col.str.to_lowercase()
        return pl.when(low.is_in(_TRUE)).then(True).when(low.is_in(_FALSE)).then(False)
    return col


def _typed_name(name: str) -> str:
    return f"__typed_{name}"


def _add_typed(frame: pl.DataFrame, kinds: dict[str, str]) -> pl.DataFrame:
    """A typed twin of every non-text column: the common form for all rows, then the other accepted
    forms for the few rows the common form missed (so 1 M dates are parsed once, not five times)."""
    typed = [n for n in frame.columns if kinds.get(n, "string") != "string"]
    if not typed:
        return frame
    frame = frame.with_columns(
        [_parse(pl.col(n), kinds[n], fallback=False).alias(_typed_name(n)) for n in typed]
    )
    for n in typed:
        missed = pl.col(n).is_not_null() & pl.col(_typed_name(n)).is_null()
        if frame.select(missed.any()).item():
            retry = _parse(pl.col(n), kinds[n], fallback=True)
            frame = frame.with_columns(
                pl.when(missed).then(retry).otherwise(pl.col(_typed_name(n))).alias(_typed_name(n))
            )
    return frame


# ------------------------------------------------------------------ ID checks


def _cid_ok_name(name: str) -> str:
    return f"__cid_ok_{name}"


def _cc_ok_name(name: str) -> str:
    return f"__cc_ok_{name}"


_CITIZEN_CHECK_VALUE: Final = {ch: i for i, ch in enumerate(_CITIZEN_CHECK)}
_CREDIT_VALUE: Final = {ch: i for i, ch in enumerate(CREDIT_ALPHABET)}
_ORG_CHECK_VALUE: Final = {ch: i for i, ch in enumerate(_ORG_CHECK)}


def citizen_id_ok(v: pl.Expr, today: date) -> pl.Expr:
    """True for a valid GB 11643 ID (normalised text), False otherwise (also for null)."""
    birth = v.str.slice(6, 8).str.to_date("%Y%m%d", strict=False)
    r = (v.str.slice(0, 17).str.to_integer(base=13, strict=False) % 11) * 2 % 11
    check = v.str.slice(17, 1).replace_strict(_CITIZEN_CHECK_VALUE, default=None, return_dtype=pl.Int64)
    ok = (
        v.str.contains(r"^[0-9]{17}[0-9X]$")
        & v.str.slice(0, 2).is_in(_PROVINCES)
        & (birth >= date(1800, 1, 1))
        & (birth <= today)
        & (check == r)
    )
    return ok.fill_null(False)


def citizen_id_message(v: pl.Expr, today: date) -> pl.Expr:
    """Why a citizen ID is invalid, in Chinese (evaluated on failing rows only)."""
    length = v.str.len_chars()
    birth = v.str.slice(6, 8).str.to_date("%Y%m%d", strict=False)
    return (
        pl.when(length != 18)
        .then(pl.format("身份证号码应为18位，当前为{}位", length))
        .when(~v.str.contains(r"^[0-9]{17}[0-9X]$"))
        .then(pl.lit("身份证号码前17位应为数字，第18位应为数字或X"))
        .when(~v.str.slice(0, 2).is_in(_PROVINCES))
        .then(pl.format("身份证号码地址码前两位“{}”不是有效的省级行政区划代码", v.str.slice(0, 2)))
        .when(birth.is_null())
        .then(pl.format("身份证号码中的出生日期“{}”不是有效日期", v.str.slice(6, 8)))
        .when((birth > today) | (birth < date(1800, 1, 1)))
        .then(pl.format("身份证号码中的出生日期“{}”不合理（晚于今天或早于1800年）", v.str.slice(6, 8)))
        .otherwise(pl.lit("身份证号码校验位不正确，请核对号码"))
    )


def _credit_parts(v: pl.Expr) -> tuple[pl.Expr, pl.Expr, pl.Expr, pl.Expr, pl.Expr]:
    """(shape, authority, area, check digit ok, organisation-code check ok) of a credit code."""
    shape = v.str.contains(r"^[0-9A-HJ-NP-RTUW-Y]{18}$")
    authority = v.str.slice(0, 2).is_in(_AUTH_TYPES)
    area = v.str.slice(2, 6).str.contains(r"^[0-9]{6}$") & v.str.slice(2, 2).is_in(_CREDIT_AREAS)
    # Map the 31 symbols onto base-36 digits of the same value (A=10 … Y=30), then Σ vᵢ·34ⁱ mod 31,
    # in two halves (positions 0–8 and 9–16) so each fits in 64 bits.
    mapped = v.str.slice(0, 17).str.replace_many(list(CREDIT_ALPHABET[10:]), list("abcdefghijklmnopqrstu"))
    low = mapped.str.slice(0, 9).str.reverse().str.to_integer(base=34, strict=False) % 31
    high = mapped.str.slice(9, 8).str.reverse().str.to_integer(base=34, strict=False) % 31
    s = (low + pow(34, 9, 31) * high) % 31
    check = v.str.slice(17, 1).replace_strict(_CREDIT_VALUE, default=None, return_dtype=pl.Int64)
    check_ok = check == (31 - s) % 31
    # GB 11714: the values A=10 … Y=34 are base-35 digits and 35 ≡ 2 (mod 11).
    org = (v.str.slice(8, 8).str.to_integer(base=35, strict=False) % 11) * 2 % 11
    org_check = v.str.slice(16, 1).replace_strict(_ORG_CHECK_VALUE, default=None, return_dtype=pl.Int64)
    return shape, authority, area, check_ok, org_check == org


def credit_code_ok(v: pl.Expr) -> pl.Expr:
    shape, authority, area, check_ok, org_ok = _credit_parts(v)
    return (shape & authority & area & check_ok & org_ok).fill_null(False)


def credit_code_message(v: pl.Expr) -> pl.Expr:
    shape, authority, area, check_ok, _ = _credit_parts(v)
    length = v.str.len_chars()
    return (
        pl.when(length != 18)
        .then(pl.format("统一社会信用代码应为18位，当前为{}位", length))
        .when(~shape)
        .then(pl.lit("统一社会信用代码含有无效字符（只能是数字和大写字母，不使用 I、O、Z、S、V）"))
        .when(~authority)
        .then(pl.format("统一社会信用代码前两位“{}”不是有效的登记管理部门和机构类别代码", v.str.slice(0, 2)))
        .when(~area)
        .then(pl.format("统一社会信用代码第3–8位“{}”不是有效的行政区划代码", v.str.slice(2, 6)))
        .when(~check_ok.fill_null(False))
        .then(pl.lit("统一社会信用代码校验位不正确，请核对代码"))
        .otherwise(pl.lit("统一社会信用代码第9–17位的组织机构代码校验位不正确，请核对代码"))
    )


# ------------------------------------------------------------------ the checks


def _label(spec: registry.ResourceSpec, name: str) -> str:
    return spec.field_spec(name).label if name in spec.field_names else name


def _resource_name(key: str | None) -> str:
    try:
        return f"「{registry.resource(key or '').name}」"
    except Exception:
        return f"「{key}」"


class _Context:
    """What the checks of one validation share: the columns present, their kinds, lookups, dates."""

    def __init__(
        self,
        spec: registry.ResourceSpec,
        present: set[str],
        existing: dict[int, list[str]],
        references: dict[int, list[str]],
        now: datetime,
    ) -> None:
        self.spec = spec
        self.present = present
        self.kinds = {f.name: f.type for f in spec.fields}
        self.existing = existing
        self.references = references
        self.now = now
        self.today = now.astimezone(clock.SHANGHAI).date()
        self.derived: dict[str, pl.Expr] = {}  # columns computed once, before the checks

    def raw(self, name: str) -> pl.Expr:
        return pl.col(name) if name in self.present else pl.lit(None, dtype=pl.String)

    def typed(self, name: str) -> pl.Expr:
        if name not in self.present:
            return pl.lit(None)
        return pl.col(_typed_name(name)) if self.kinds.get(name, "string") != "string" else pl.col(name)

    def cid_ok(self, name: str) -> pl.Expr:
        if name not in self.present:
            return pl.lit(False)
        self.derived.setdefault(_cid_ok_name(name), citizen_id_ok(pl.col(name), self.today))
        return pl.col(_cid_ok_name(name))

    def cc_ok(self, name: str) -> pl.Expr:
        if name not in self.present:
            return pl.lit(False)
        self.derived.setdefault(_cc_ok_name(name), credit_code_ok(pl.col(name)))
        return pl.col(_cc_ok_name(name))


def _type_checks(ctx: _Context) -> list[Check]:
    """A value that is not of its field's type fails once, here (and is null for the other rules)."""
    out = []
    for name in sorted(ctx.present):
        kind = ctx.kinds.get(name, "string")
        if kind == "string":
            continue
        out.append(
            Check(
                name=f"{name}.type",
                field=name,
                fail=(pl.col(name).is_not_null() & pl.col(_typed_name(name)).is_null()),
                message=pl.lit(f"{_label(ctx.spec, name)}{_TYPE_MESSAGES.get(kind, '格式不正确')}"),
                weight=type_weight(ctx.spec, name),
            )
        )
    return out


def _rule_checks(ctx: _Context, i: int, rule: Rule) -> list[Check]:
    v = ctx.raw(rule.field)
    label = _label(ctx.spec, rule.field)
    kind = ctx.kinds.get(rule.field, "string")
    extra: list[Check] = []
    dup_fields: tuple[str, ...] | None = None
    fail: pl.Expr
    message: pl.Expr
    if rule.type == "required":
        fail = v.is_null()
        message = pl.lit(f"{label}为必填项，不能为空")
    elif rule.type == "pattern":
        fail = v.is_not_null() & ~v.str.contains(f"^(?:{rule.regex})$")
        message = pl.lit(f"{label}格式不正确")
    elif rule.type == "enum":
        fail = v.is_not_null() & ~v.is_in(list(rule.values))
        allowed = "、".join(rule.values[:12]) + ("等" if len(rule.values) > 12 else "")
        message = pl.format(f"{label}“{{}}”不是允许的取值（{allowed}）", v)
    elif rule.type == "range":
        t = ctx.typed(rule.field)
        outside = [t < pl.lit(rule.min)] if rule.min is not None else []
        outside += [t > pl.lit(rule.max)] if rule.max is not None else []
        fail = t.is_not_null() & pl.any_horizontal(outside)
        bounds = [f"不小于 {rule.min}"] * (rule.min is not None) + [f"不大于 {rule.max}"] * (
            rule.max is not None
        )
        message = pl.lit(f"{label}超出范围（应{'，'.join(bounds)}）")
    elif rule.type == "citizen_id":
        fail = v.is_not_null() & ~ctx.cid_ok(rule.field)
        message = citizen_id_message(v, ctx.today)
    elif rule.type == "credit_code":
        fail = v.is_not_null() & ~ctx.cc_ok(rule.field)
        message = credit_code_message(v)
    elif rule.type == "date_sane":
        t = ctx.typed(rule.field)
        if kind == "datetime":
            late = t > pl.lit(ctx.now.astimezone(UTC)).cast(pl.Datetime("us", "UTC"))
            early = t < pl.lit(datetime(1900, 1, 1, tzinfo=UTC)).cast(pl.Datetime("us", "UTC"))
        else:
            late, early = t > pl.lit(ctx.today), t < pl.lit(EARLIEST_DATE)
        fail = t.is_not_null() & (late | early)
        message = pl.when(late).then(pl.lit(f"{label}晚于今天")).otherwise(pl.lit(f"{label}早于1900年"))
    elif rule.type == "unique":
        cols = [ctx.raw(f) for f in rule.fields]
        key = cols[0] if len(cols) == 1 else pl.struct(cols)
        # Hash first (cheap on 64-bit integers), then the exact test on the few candidates: every
        # member of a true duplicate group shares a hash, so no duplicate is missed.
        fail = key.hash(7).is_duplicated() & pl.all_horizontal([c.is_not_null() for c in cols])
        message = pl.lit("")
        dup_fields = rule.fields
        keys = ctx.existing.get(i)
        if keys:
            extra.append(
                Check(
                    name=rule.name,
                    field=rule.field,
                    fail=(v.is_not_null() & v.is_in(keys)).fill_null(False),
                    message=pl.lit(rule.message)
                    if rule.message
                    else pl.lit(
                        f"基础库中已有该{label}的记录（导入方式为“仅新增”，不会覆盖；如需更新请选择“新增或更新”）"
                    ),
                    weight=rule.weight,
                )
            )
    elif rule.type == "reference":
        fail = v.is_not_null() & ~v.is_in(ctx.references.get(i, []))
        message = pl.format(f"{label}“{{}}”在{_resource_name(rule.resource)}中不存在", v)
    elif rule.type == "citizen_id_match":
        id_name = rule.id_field or ""
        idv = ctx.raw(id_name)
        id_ok = ctx.cid_ok(id_name)
        if kind in ("date", "datetime"):
            t = ctx.typed(rule.field)
            if kind == "datetime":
                t = t.dt.convert_time_zone("Asia/Shanghai").dt.date()
            from_id = idv.str.slice(6, 8).str.to_date("%Y%m%d", strict=False)
            fail = t.is_not_null() & id_ok & (t != from_id)
            message = pl.format(f"{label}与身份证号码中的出生日期“{{}}”不一致", idv.str.slice(6, 8))
        else:
            male = idv.str.slice(16, 1).str.to_integer(strict=False) % 2 == 1
            expected = pl.when(male).then(pl.lit("男")).otherwise(pl.lit("女"))
            fail = v.is_in(["男", "女"]) & id_ok & (v != expected)
            message = pl.format(f"{label}“{{}}”与身份证号码（第17位）表示的性别“{{}}”不一致", v, expected)
    else:  # pragma: no cover - compile_rules admits only the types above
        raise ValueError(rule.type)
    check = Check(
        name=rule.name,
        field=rule.field,
        fail=fail.fill_null(False),
        message=pl.lit(rule.message) if rule.message else message,
        weight=rule.weight,
        dup_fields=dup_fields,
        dup_message=dup_fields is not None and not rule.message,
    )
    return [check, *extra]


# ------------------------------------------------------------------ the pipeline


def _distinct(frame: pl.DataFrame, name: str) -> list[str]:
    if name not in frame.columns:
        return []
    return frame.get_column(name).drop_nulls().unique().to_list()


def prepare(spec: registry.ResourceSpec, rules: list[Rule], frame: pl.DataFrame) -> pl.DataFrame:
    """Normalised IDs and typed twins of the non-text columns (the frame `validate` then checks)."""
    kinds = {f.name: f.type for f in spec.fields}
    present = [c for c in frame.columns if c != ROW]
    frame = _normalise_ids(frame, [c for c in present if c in id_fields(spec, rules)])
    return _add_typed(frame, kinds)


def validate(
    spec: registry.ResourceSpec,
    rules: list[Rule],
    frame: pl.DataFrame,
    *,
    mode: str,
    lookup: ExistingKeys,
    registry_empty: bool = False,
) -> Outcome:
    """Check every row of `frame` (trimmed text columns named by field, empty as null, plus ROW)."""
    now = clock.now()
    present = {c for c in frame.columns if c != ROW}
    kinds = {f.name: f.type for f in spec.fields}
    prepared = prepare(spec, rules, frame)

    # Values to look up in the registries, once per rule.
    existing: dict[int, list[str]] = {}
    references: dict[int, list[str]] = {}
    for i, rule in enumerate(rules):
        if rule.type == "unique" and mode == "insert" and not registry_empty:
            if len(rule.fields) == 1 and rule.field in spec.subject_fields:
                values = _distinct(prepared, rule.field)
                existing[i] = sorted(lookup(spec.key, values)) if values else []
        elif rule.type == "reference":
            values = _distinct(prepared, rule.field)
            references[i] = sorted(lookup(rule.resource or "", values)) if values else []

    ctx = _Context(spec, present, existing, references, now)
    checks = _type_checks(ctx)
    for i, rule in enumerate(rules):
        checks.extend(_rule_checks(ctx, i, rule))
    lazy = prepared.lazy()
    if ctx.derived:
        lazy = lazy.with_columns([expr.alias(name) for name, expr in ctx.derived.items()])
    fails = [c.fail.alias(_fail_name(i)) for i, c in enumerate(checks)]
    any_fail = (
        pl.any_horizontal([pl.col(_fail_name(i)) for i in range(len(checks))]) if checks else pl.lit(False)
    )
    flagged = lazy.with_columns(fails).with_columns(any_fail.alias("__rejected")).collect()

    # In-file duplicates were found by hash: confirm them exactly on the candidates.
    for i, c in enumerate(checks):
        if c.dup_fields is not None:
            flagged = _confirm_duplicates(flagged, i, c.dup_fields, len(checks))

    hit_counts = (
        flagged.select([pl.col(_fail_name(i)).sum() for i in range(len(checks))]).row(0) if checks else ()
    )
    hits: dict[str, int] = {}
    for check, count in zip(checks, hit_counts, strict=True):
        hits[check.name] = hits.get(check.name, 0) + int(count or 0)

    bad = flagged.filter(pl.col("__rejected"))
    good = flagged.filter(~pl.col("__rejected"))
    rejected, penalty = _rejected_rows(spec, checks, bad, sorted(present))
    good_out = good.select(
        [
            (pl.col(_typed_name(c)) if kinds.get(c, "string") != "string" else pl.col(c)).alias(c)
            for c in spec.field_names
            if c in present
        ]
        + [pl.col(ROW)]
    )
    return Outcome(
        good=good_out,
        rejected=rejected,
        hits=hits,
        penalty=penalty,
        rows_read=frame.height,
        checks=[c.name for c in checks],
    )


def _confirm_duplicates(flagged: pl.DataFrame, i: int, fields: tuple[str, ...], n: int) -> pl.DataFrame:
    """Turn hash-duplicates into exact duplicates (a hash collision between different values clears)."""
    name = _fail_name(i)
    candidates = flagged.filter(pl.col(name))
    if candidates.height == 0:
        return flagged
    key = pl.col(fields[0]) if len(fields) == 1 else pl.struct(list(fields))
    collided = candidates.filter(~key.is_duplicated()).get_column(ROW)
    if collided.len() == 0:
        return flagged
    cleared = pl.col(ROW).is_in(collided.implode())
    flagged = flagged.with_columns(pl.when(cleared).then(False).otherwise(pl.col(name)).alias(name))
    return flagged.with_columns(
        pl.any_horizontal([pl.col(_fail_name(j)) for j in range(n)]).alias("__rejected")
    )


def _rejected_rows(
    spec: registry.ResourceSpec, checks: list[Check], bad: pl.DataFrame, present: list[str]
) -> tuple[pl.DataFrame, float]:
    if bad.height == 0:
        empty = pl.DataFrame(
            {ROW: [], "subject": [], "data": [], "reasons": []},
            schema={ROW: pl.Int64, "subject": pl.String, "data": pl.String, "reasons": pl.String},
        )
        return empty, 0.0
    penalty = float(
        bad.select(
            pl.sum_horizontal(
                [pl.col(_fail_name(i)).cast(pl.Float64) * c.weight for i, c in enumerate(checks)]
            )
            .clip(upper_bound=1.0)
            .sum()
        ).item()
    )
    reason_items = []
    for i, c in enumerate(checks):
        message = c.message
        if c.dup_message and c.dup_fields:
            # Every occurrence of a duplicate fails, so all of them are on this frame.
            keys = [pl.col(f) for f in c.dup_fields]
            flag = pl.col(_fail_name(i))
            first = pl.col(ROW).filter(flag).min().over(keys)
            count = flag.cast(pl.Int64).sum().over(keys)
            label = "、".join(_label(spec, f) for f in c.dup_fields)
            message = pl.format(
                f"文件中有 {{}} 行的{label}相同（首次出现在第 {{}} 行），请核对后只保留一行", count, first
            )
        reason_items.append(
            pl.when(pl.col(_fail_name(i)))
            .then(
                pl.struct(
                    field=pl.lit(c.field),
                    rule=pl.lit(c.name),
                    message=message.cast(pl.String),
                ).struct.json_encode()
            )
            .otherwise(None)
        )
    reasons = pl.concat_list(reason_items).list.drop_nulls().list.join(",")
    subject_field = spec.key_fields[0] if spec.key_fields else None
    data_cols = [c for c in spec.field_names if c in present]
    out = bad.select(
        pl.col(ROW),
        (pl.col(subject_field) if subject_field in present else pl.lit(None, dtype=pl.String)).alias(
            "subject"
        ),
        pl.struct([pl.col(c) for c in data_cols]).struct.json_encode().alias("data"),
        (pl.lit("[") + reasons + pl.lit("]")).alias("reasons"),
    )
    return out, penalty


def quality_score(rows_read: int, penalty: float) -> float | None:
    """100 × (rows read − penalty of the rejected rows) / rows read, one decimal; None for no rows.

    A rejected row's penalty is the sum of the weights of the checks it failed, capped at 1: a row with
    a bad citizen ID (weight 1) costs a whole row, a row whose only fault is a malformed phone number
    (weight 0.5) half a row. So the score is the share of rows loaded when every fault is serious, and
    a little kinder when the faults are minor ones that the officer can correct."""
    if rows_read <= 0:
        return None
    return round(100.0 * max(0.0, rows_read - penalty) / rows_read, 1)
