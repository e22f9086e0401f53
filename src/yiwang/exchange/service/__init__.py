"""The exchange's domain logic, split by topic (DESIGN §2): every command is `<verb>_<noun>(session,
actor, …)` and decides its own authorisation; the API, the pages and the demo call these."""

from yiwang.exchange.service.cache import cached_actor, clear_caches
from yiwang.exchange.service.calls import CallRequest, Outcome
from yiwang.exchange.service.datause import (
    answer_objection,
    data_use_call,
    get_objection,
    list_objections,
    my_data_use,
    platform_access,
    raise_objection,
    subject_of,
)
from yiwang.exchange.service.delegations import (
    active_delegation,
    create_delegation,
    list_delegations,
    revoke_delegation,
)
from yiwang.exchange.service.grants import (
    get_grant,
    grant_read,
    list_grants,
    read_settings,
    revoke_grant,
    update_settings,
)
from yiwang.exchange.service.pipeline import serve, serve_http
from yiwang.exchange.service.requests import (
    decide_request,
    file_request,
    filing_systems,
    get_request,
    list_requests,
    may_decide,
    withdraw_request,
)
from yiwang.exchange.service.stats import call_log, call_stats, roll_up_now, roll_up_stats, stats_csv

__all__ = [
    "may_decide",
    "CallRequest",
    "Outcome",
    "active_delegation",
    "create_delegation",
    "list_delegations",
    "revoke_delegation",
    "answer_objection",
    "call_log",
    "call_stats",
    "cached_actor",
    "clear_caches",
    "data_use_call",
    "decide_request",
    "file_request",
    "filing_systems",
    "get_grant",
    "get_objection",
    "get_request",
    "grant_read",
    "list_grants",
    "list_objections",
    "list_requests",
    "my_data_use",
    "platform_access",
    "raise_objection",
    "read_settings",
    "revoke_grant",
    "roll_up_now",
    "roll_up_stats",
    "serve",
    "serve_http",
    "stats_csv",
    "subject_of",
    "update_settings",
    "withdraw_request",
]
