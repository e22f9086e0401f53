"""The shared-data pipeline (B5, B6, B8): authenticate → grant → fetch → granted fields → mask → log.

Every call — answered or refused — leaves one call-log row and one audit record carrying the purpose
and the subject; a refused call returns a Chinese problem and no data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.exchange.conftest import (
    API,
    PURPOSE,
    audit_rows,
    calls,
    count_queries,
    data_url,
    fresh_headers,
    grant,
    grant_for_dept,
    request_body,
)
from tests.identity.helpers import login_api
from yiwang import catalog
from yiwang.core import clock
from yiwang.core.errors import PROBLEM_MEDIA_TYPE
from yiwang.core.security import PLATFORM


def _get(client, system, subject, purpose=PURPOSE, key="population", headers=None, **params):
    params = {"subject": subject, "purpose": purpose, **params}
    return client.get(data_url(key), params=params, headers=headers or system.headers)


def _refused(r, status: int, slug: str) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM_MEDIA_TYPE)
    body = r.json()
    assert body["type"] == f"/problems/{slug}", body
    assert body["title"] and any("\u4e00" <= ch <= "\u9fff" for ch in body["title"] + body.get("detail", ""))
    assert "records" not in body
    return body


def _one_refusal_logged(db, subject: str, status: int, slug: str) -> None:
    rows = calls(db, subject=subject)
    assert len(rows) == 1, rows
    row = rows[0]
    assert row.result == "refused" and row.status == status and row.reason.startswith(slug)
    assert row.row_count == 0 and row.fields == ""
    records = audit_rows(db, "exchange.query", "refused", subject=subject)
    assert len(records) == 1
    assert (records[0].chain_id, records[0].seq) == (row.audit_chain, row.audit_seq)


# ---------------------------------------------------------------- the whole journey


def test_full_pipeline_with_a_client_credentials_token(
    client, db, city, catalogued, marriage_system, people, officer_h
):
    # The system files its own request; 市公安局's data officer approves it.
    r = client.post(f"{API}/requests", json=request_body(), headers=marriage_system.headers)
    assert r.status_code == 201, r.text
    req = r.json()
    assert req["status"] == "submitted" and req["client_id"] == marriage_system.client_id
    assert req["provider_dept_name"] == "市公安局"
    r = client.post(f"{API}/requests/{req['id']}/decision", json={"decision": "approve"}, headers=officer_h)
    assert r.status_code == 200, r.text
    grant_id = r.json()["grant_id"]
    assert grant_id

    subject = people[1]
    r = _get(client, marriage_system, subject)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["grant_id"] == grant_id and body["purpose"] == PURPOSE
    assert body["catalog_code"] == catalogued.population and body["count"] == 1
    record = body["records"][0]
    # Only the granted fields; sensitive personal information (PIPL art. 28) masked for a purpose
    # without the allowance, 一般 and 重要 items as they are (the catalog's policy).
    assert set(record) == {"citizen_id", "name", "gender", "birth_date", "address", "status"}
    masked_id = record["citizen_id"]
    assert masked_id != subject and masked_id.startswith(subject[:6]) and "*" in masked_id
    assert "*" not in record["name"] and len(str(record["birth_date"])) == 10
    assert body["masked"] == {"citizen_id": "id"}

    # One call-log row and one audit record, in the same transaction, pointing at each other.
    (row,) = calls(db, subject=subject)
    assert row.result == "ok" and row.status == 200 and row.grant_id == grant_id
    assert row.client_id == marriage_system.client_id and row.consumer_dept_id == city.departments["minzheng"]
    assert row.provider_dept_id == city.departments["gongan"] and row.purpose == PURPOSE
    assert row.row_count == 1 and set(row.fields.split(",")) == set(record)
    assert body["call_id"] == row.id and body["audit_ref"] == f"{row.audit_chain}:{row.audit_seq}"
    (rec,) = audit_rows(db, "exchange.query", "ok", subject=subject)
    assert rec.purpose == PURPOSE and rec.client_id == marriage_system.client_id
    assert (rec.chain_id, rec.seq) == (row.audit_chain, row.audit_seq)


def test_subject_without_records_is_an_empty_answer_still_logged(client, db, catalogued, marriage_system):
    grant(db, marriage_system.client_id)
    nobody = "11010519491231002X"  # valid, not in the test city
    r = _get(client, marriage_system, nobody)
    assert r.status_code == 200, r.text
    assert r.json()["count"] == 0 and r.json()["records"] == []
    (row,) = calls(db, subject=nobody)
    assert row.result == "ok" and row.row_count == 0


def test_requested_fields_narrow_the_answer(client, db, catalogued, marriage_system, people):
    grant(db, marriage_system.client_id)
    r = _get(client, marriage_system, people[2], fields="gender,status")
    assert r.status_code == 200, r.text
    assert set(r.json()["records"][0]) == {"gender", "status"}


def test_the_hot_path_keeps_to_a_handful_of_statements(client, db, catalogued, marriage_system, people):
    grant(db, marriage_system.client_id)
    _get(client, marriage_system, people[3])  # warm the entry cache
    with count_queries(db) as statements:
        r = _get(client, marriage_system, people[4])
    assert r.status_code == 200
    work = [
        s for s in statements if not s.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK TO"))
    ]
    # token, client, grant, fetch, audit (2 on PostgreSQL, 3 on SQLite), call log + counter (1 or 2)
    assert len(work) <= 9, work


# ---------------------------------------------------------------- refusals


def test_client_of_a_department_without_a_grant_is_refused_and_logged(
    client, db, catalogued, other_system, people
):
    body = _refused(_get(client, other_system, people[1]), 403, "exchange-no-grant")
    assert "申请" in body["detail"]
    _one_refusal_logged(db, people[1], 403, "exchange-no-grant")


def test_field_outside_the_grant_is_refused_not_dropped(client, db, catalogued, marriage_system, people):
    grant(db, marriage_system.client_id)
    body = _refused(
        _get(client, marriage_system, people[1], fields="name,phone"), 403, "exchange-field-not-granted"
    )
    assert "phone" in body["detail"]
    _one_refusal_logged(db, people[1], 403, "exchange-field-not-granted")


def test_unknown_field_is_bad_input(client, db, catalogued, marriage_system, people):
    grant(db, marriage_system.client_id)
    body = _refused(_get(client, marriage_system, people[1], fields="name,shoe_size"), 422, "invalid")
    assert body["errors"][0]["field"] == "fields"
    _one_refusal_logged(db, people[1], 422, "invalid")


def test_expired_grant_is_refused(client, db, catalogued, marriage_system, people):
    today = clock.today_local().date()
    grant(db, marriage_system.client_id, period_to=(today + timedelta(days=3)).isoformat())
    later = datetime.combine(today + timedelta(days=5), datetime.min.time(), UTC) + timedelta(hours=4)
    with clock.freeze(later):
        headers = fresh_headers(client, marriage_system)
        body = _refused(
            _get(client, marriage_system, people[1], headers=headers), 403, "exchange-grant-expired"
        )
    assert "到期" in body["detail"]
    _one_refusal_logged(db, people[1], 403, "exchange-grant-expired")


def test_revoked_grant_is_refused(client, db, catalogued, marriage_system, people, officer_h):
    req = grant(db, marriage_system.client_id)
    r = client.post(f"{API}/grants/{req.grant_id}/revoke", json={"reason": "系统停用"}, headers=officer_h)
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "revoked"
    _refused(_get(client, marriage_system, people[1]), 403, "exchange-grant-revoked")
    _one_refusal_logged(db, people[1], 403, "exchange-grant-revoked")


def test_purpose_outside_the_grant_is_refused(client, db, catalogued, marriage_system, people):
    grant(db, marriage_system.client_id)
    body = _refused(
        _get(client, marriage_system, people[1], purpose="市场营销"), 403, "exchange-purpose-not-granted"
    )
    assert PURPOSE in body["detail"]
    _one_refusal_logged(db, people[1], 403, "exchange-purpose-not-granted")


def test_missing_purpose_is_bad_input_and_logged(client, db, catalogued, marriage_system, people):
    grant(db, marriage_system.client_id)
    _refused(_get(client, marriage_system, people[1], purpose=""), 422, "invalid")
    _one_refusal_logged(db, people[1], 422, "invalid")


def test_over_the_rate_limit_is_429_with_retry_after(client, db, catalogued, marriage_system, people):
    grant(db, marriage_system.client_id, rate_per_minute=2)
    at = datetime.now(UTC).replace(second=10, microsecond=0) + timedelta(minutes=1)
    with clock.freeze(at) as frozen:
        assert _get(client, marriage_system, people[1]).status_code == 200
        assert _get(client, marriage_system, people[2]).status_code == 200
        r = _get(client, marriage_system, people[3])
        body = _refused(r, 429, "exchange-rate-limited")
        assert r.headers["Retry-After"] == "50" and body["retry_after"] == 50
        _one_refusal_logged(db, people[3], 429, "exchange-rate-limited")
        # The refused call did not count; the next minute starts afresh.
        frozen.tick(timedelta(seconds=60))
        assert _get(client, marriage_system, people[4]).status_code == 200


def test_not_shared_resource_is_always_refused(client, db, catalogued, marriage_system, people):
    body = _refused(
        _get(client, marriage_system, people[1], key="no_criminal_record"), 403, "exchange-not-shared"
    )
    assert "不予共享" in body["detail"]
    _one_refusal_logged(db, people[1], 403, "exchange-not-shared")


def test_a_request_for_a_not_shared_resource_is_not_accepted(client, db, catalogued, marriage_system):
    body = request_body(resource_key="no_criminal_record", fields=["citizen_id"])
    r = client.post(f"{API}/requests", json=body, headers=marriage_system.headers)
    assert r.status_code == 422 and "不予共享" in r.text


def test_uncatalogued_resource_is_refused(client, db, catalogued, marriage_system, people):
    with db.session() as s:
        entry = catalog.entry_for_resource(s, "household")
        if entry is not None:
            catalog.unmount_entry(s, PLATFORM, entry.code, "测试：解除挂接")
    _refused(_get(client, marriage_system, people[1], key="household"), 403, "exchange-not-catalogued")
    _one_refusal_logged(db, people[1], 403, "exchange-not-catalogued")


def test_unknown_resource_is_404_and_logged(client, db, catalogued, marriage_system, people):
    _refused(_get(client, marriage_system, people[1], key="horoscope"), 404, "not-found")
    _one_refusal_logged(db, people[1], 404, "not-found")


def test_malformed_subject_is_bad_input(client, db, catalogued, marriage_system):
    grant(db, marriage_system.client_id)
    r = _get(client, marriage_system, "110105194912310021")  # wrong check digit
    _refused(r, 422, "invalid")
    # Checked once, by the registry's rule, and reported under the field the caller sent.
    assert [e["field"] for e in r.json()["errors"]] == ["subject"]
    assert "校验" in r.json()["errors"][0]["message"]
    _one_refusal_logged(db, "110105194912310021", 422, "invalid")


def test_citizen_cannot_call_the_data_api(client, db, catalogued, citizen_h, people):
    r = client.get(data_url(), params={"subject": people[1], "purpose": PURPOSE}, headers=citizen_h)
    _refused(r, 403, "exchange-not-a-consumer")
    _one_refusal_logged(db, people[1], 403, "exchange-not-a-consumer")


def test_no_token_is_401_and_not_logged(client, db, catalogued, people):
    r = client.get(data_url(), params={"subject": people[1], "purpose": PURPOSE})
    assert r.status_code == 401 and r.headers["content-type"].startswith(PROBLEM_MEDIA_TYPE)
    r = client.get(data_url(), params={"subject": people[1]}, headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401
    assert calls(db, subject=people[1]) == []


# ---------------------------------------------------------------- unconditional, masking, staff


def test_unconditional_resource_needs_no_request_but_is_logged(client, db, city, catalogued, other_system):
    code = city.enterprise_credit_code
    r = _get(client, other_system, code, purpose="政府采购供应商资格核验", key="legal_person")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["grant_id"] is None and body["sharing_type"] == "unconditional" and body["count"] == 1
    assert body["records"][0]["credit_code"] == code
    # The legal representative's citizen ID is personal information: masked.
    assert "*" in body["records"][0]["legal_rep_citizen_id"]
    (row,) = calls(db, subject=code)
    assert row.result == "ok" and row.grant_id is None and row.purpose == "政府采购供应商资格核验"
    assert audit_rows(db, "exchange.query", "ok", subject=code)


def test_sensitive_fields_unmasked_only_when_the_grant_allows(
    client, db, catalogued, marriage_system, other_system, people
):
    grant(db, marriage_system.client_id, allow_sensitive=True, fields=["citizen_id", "name", "phone"])
    grant(db, other_system.client_id, fields=["citizen_id", "name", "phone"])
    subject = people[1]
    open_ = _get(client, marriage_system, subject).json()["records"][0]
    masked = _get(client, other_system, subject).json()["records"][0]
    assert open_["citizen_id"] == subject and masked["citizen_id"] != subject
    # 姓名 is 重要 but not sensitive: shown to both; phone (sensitive) masked without the allowance.
    assert open_["name"] == masked["name"]
    if open_.get("phone"):
        assert masked["phone"] != open_["phone"] and "*" in masked["phone"]


def test_window_staff_query_through_their_departments_grant(client, db, city, catalogued, people):
    grant_for_dept(db, city, "zhengwu", purpose="综合窗口身份核验")
    clerk_h = login_api(client, city.accounts["clerk"])
    r = client.get(data_url(), params={"subject": people[1], "purpose": "综合窗口身份核验"}, headers=clerk_h)
    assert r.status_code == 200, r.text
    (row,) = calls(db, subject=people[1])
    assert (
        row.actor_kind == "staff"
        and row.client_id == ""
        and row.consumer_dept_id == city.departments["zhengwu"]
    )
    # A staff member of another department is refused.
    handler_h = login_api(client, city.accounts["handler"])
    r = client.get(
        data_url(), params={"subject": people[2], "purpose": "综合窗口身份核验"}, headers=handler_h
    )
    _refused(r, 403, "exchange-no-grant")


# ---------------------------------------------------------------- batch and slices


def test_batch_query_logs_one_row_per_subject(client, db, catalogued, marriage_system, people):
    grant(db, marriage_system.client_id)
    subjects = people[1:4]
    r = client.post(
        f"{data_url()}/query",
        json={"subjects": subjects, "purpose": PURPOSE},
        headers=marriage_system.headers,
    )
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["subject"] for x in results] == subjects and all(x["count"] == 1 for x in results)
    for x in results:
        (row,) = calls(db, subject=x["subject"])
        assert row.id == x["call_id"] and row.mode == "batch"
        assert audit_rows(db, "exchange.query", "ok", subject=x["subject"])


def test_batch_with_one_bad_subject_returns_nothing(client, db, catalogued, marriage_system, people):
    grant(db, marriage_system.client_id)
    subjects = [people[1], "110105194912310021"]
    r = client.post(
        f"{data_url()}/query",
        json={"subjects": subjects, "purpose": PURPOSE},
        headers=marriage_system.headers,
    )
    _refused(r, 422, "invalid")
    assert [e["field"] for e in r.json()["errors"]] == ["subjects.1"]
    assert [c.result for c in calls(db, subject=people[1])] == ["refused"]


def test_batch_over_the_maximum_is_refused(client, db, catalogued, marriage_system, people, admin_h):
    grant(db, marriage_system.client_id)
    assert client.put(f"{API}/settings", json={"max_batch": 2}, headers=admin_h).status_code == 200
    r = client.post(
        f"{data_url()}/query",
        json={"subjects": people[1:4], "purpose": PURPOSE},
        headers=marriage_system.headers,
    )
    _refused(r, 422, "invalid")


def test_slices_need_a_bulk_grant(client, db, catalogued, marriage_system):
    grant(db, marriage_system.client_id)
    r = client.get(f"{data_url()}/slice", params={"purpose": PURPOSE}, headers=marriage_system.headers)
    _refused(r, 403, "exchange-bulk-not-granted")
    (row,) = calls(db, mode="slice")
    assert row.result == "refused" and row.subject == ""


def test_slices_stay_within_the_granted_region(client, db, catalogued, marriage_system, people):
    with db.session() as s:
        from yiwang import registry

        codes = sorted(
            {
                r["community_code"]
                for r in registry.fetch_slice(s, "population", fields=["community_code"], limit=300)
                if r["community_code"]
            }
        )
    district = codes[0][:6]
    grant(
        db,
        marriage_system.client_id,
        bulk=True,
        region_prefix=district,
        purpose="数据回流",
        fields=["citizen_id", "name", "community_code"],
    )
    r = client.get(
        f"{data_url()}/slice",
        params={"purpose": "数据回流", "limit": 5, "fields": "citizen_id,community_code"},
        headers=marriage_system.headers,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["region"] == district and 0 < body["count"] <= 5
    assert all(rec["community_code"].startswith(district) for rec in body["records"])
    other = next(c for c in codes if not c.startswith(district))[:6]
    r = client.get(
        f"{data_url()}/slice",
        params={"purpose": "数据回流", "region": other},
        headers=marriage_system.headers,
    )
    _refused(r, 403, "exchange-region-not-granted")
    rows = calls(db, mode="slice")
    assert [(c.result, c.region) for c in rows] == [("ok", district), ("refused", other)]
    assert rows[0].row_count == body["count"]
