"""The catalog's masking policy `mask_record` (docs/catalog.md): grades, PIPL sensitivity, purposes."""

from __future__ import annotations

from datetime import UTC, datetime

from yiwang.catalog import EntryRead, mask_record, masking_plan
from yiwang.catalog.masking import default_hash_key
from yiwang.core.masking import hash_value

T = datetime(2026, 11, 20, tzinfo=UTC)


def _item(field_name: str, grade: str = "general", sensitive: bool = False, masking: str = "none") -> dict:
    return {
        "field_name": field_name,
        "name": field_name,
        "data_type": "string",
        "length": None,
        "grade": grade,
        "sensitive_personal": sensitive,
        "masking": masking,
    }


def entry(*items: dict) -> EntryRead:
    return EntryRead.model_validate(
        {
            "id": 1,
            "code": "101001/000001",
            "category_code": "101001",
            "name": "人口基本信息",
            "department_id": 1,
            "provider_name": "市公安局",
            "provider_code": "x",
            "form": "table",
            "sharing_type": "conditional",
            "sharing_method": "exchange",
            "open_type": "none",
            "update_cycle": "realtime",
            "status": "published",
            "version": 1,
            "published_at": T,
            "updated_at": T,
            "abstract": "",
            "sharing_condition": "c",
            "unshared_reason": "",
            "open_condition": "",
            "contact_name": "",
            "contact_phone": "",
            "linked_codes": [],
            "review_opinion": "",
            "created_at": T,
            "submitted_at": T,
            "retired_at": None,
            "items": list(items),
        }
    )


PERSON = entry(
    _item("citizen_id", "important", True, "id"),
    _item("name", "important", False, "name"),
    _item("gender"),
    _item("birth_date", "important", False, "date_to_year"),
    _item("address", "core", False, "address"),
    _item("phone", "important", True, "phone"),
    _item("health", "core", True, "drop"),
    _item("token", "core", False, "hash"),
    _item("legacy", "core", False, "none"),
)
RECORD = {
    "citizen_id": "11010519491231002X",
    "name": "张三丰",
    "gender": "男",
    "birth_date": "1990-05-12",
    "address": "辽宁省云川市云中区站前街道金桥社区3号楼",
    "phone": "13812345678",
    "health": "高血压",
    "token": "abc",
    "legacy": "旧数据",
    "not_catalogued": "不在目录中的字段",
}


def test_protected_items_are_masked_by_their_rule():
    out = mask_record(PERSON, RECORD)
    assert out["citizen_id"] == "110105********002X"  # sensitive personal → id rule
    assert out["phone"] == "138****5678"  # sensitive personal → phone rule
    assert out["address"] == "辽宁省云川市云中区站前街道****"  # 核心 → address rule
    assert out["token"] == hash_value("abc", default_hash_key())  # 核心 → keyed SM3
    assert "health" not in out  # rule drop
    assert "legacy" not in out  # 核心 with rule none: fail closed


def test_general_and_important_items_pass_as_they_are():
    out = mask_record(PERSON, RECORD)
    # 重要 but not sensitive: its masking rule is not applied.
    assert out["name"] == "张三丰"
    assert out["birth_date"] == "1990-05-12"
    assert out["gender"] == "男"


def test_fields_not_in_the_catalog_never_leave():
    assert "not_catalogued" not in mask_record(PERSON, RECORD)
    assert "not_catalogued" not in mask_record(PERSON, RECORD, purpose_allows_sensitive=True)


def test_a_purpose_that_allows_sensitive_data_gets_the_values():
    out = mask_record(PERSON, RECORD, purpose_allows_sensitive=True)
    assert out == {k: v for k, v in RECORD.items() if k != "not_catalogued"}


def test_none_values_stay_none_and_the_input_is_not_changed():
    record = dict(RECORD, phone=None)
    before = dict(record)
    out = mask_record(PERSON, record)
    assert out["phone"] is None
    assert record == before


def test_a_caller_key_for_hashing():
    out = mask_record(PERSON, RECORD, hash_key=b"per-consumer-key")
    assert out["token"] == hash_value("abc", b"per-consumer-key")
    assert out["token"] != mask_record(PERSON, RECORD)["token"]


def test_masking_plan_names_the_rule_per_item():
    plan = masking_plan(PERSON)
    assert plan == {
        "citizen_id": "id",
        "name": "none",
        "gender": "none",
        "birth_date": "none",
        "address": "address",
        "phone": "phone",
        "health": "drop",
        "token": "hash",
        "legacy": "drop",
    }
    assert set(masking_plan(PERSON, purpose_allows_sensitive=True).values()) == {"none"}
