"""审计 (the auditor's pages): the audit chain's state, verification on demand in the background, and
the audit records filtered by actor, data subject, action and time.

The chain itself is `yiwang.core.audit`; this module is the people's side of it. Public face: the
commands and reads the pages call, for a script or another page alike.
"""

from yiwang.audit.service import (
    Overview,
    RecordFilters,
    RecordPage,
    RunRead,
    can_read,
    can_verify,
    get_run,
    latest_run,
    overview,
    run_verification,
    search_records,
    start_verification,
)

__all__ = [
    "Overview",
    "RecordFilters",
    "RecordPage",
    "RunRead",
    "can_read",
    "can_verify",
    "get_run",
    "latest_run",
    "overview",
    "run_verification",
    "search_records",
    "start_verification",
]
