"""The audit chain (DESIGN §3 rule 3): append-only records, each carrying the SM3 hash of the one before.

Every access to personal data, every signature and every grant decision is appended here: who acted
(actor_kind, actor_id, actor_name, client_id, ip), for whom (on_behalf_of), what (a dotted `action`
such as "exchange.query"), on which object (object_type, object_id) or data subject (`subject`: a
citizen ID or credit code), why (`purpose`), when (`at`) and with which `result` (ok / refused /
failed), plus a canonical-JSON `detail`.

Use:

* `append(session, actor, action, ...)` inside the command's transaction, so the record commits or
  rolls back with the change it describes; `append_many(session, actor, entries)` for a batch.
* `record_refusal(database, actor, action, ...)` when a command is refused: it writes and commits in
  its own transaction, because the refused command's own transaction is rolled back.
* `anchor(session)` on a schedule (every minute or few, and before verifying): links each chain's head
  into the root chain and brings the subject index ("who used my data") up to date.
* `verify(database)` / `yiwang audit verify`: proves every chain whole or names the first broken
  record. `records_for_subject`, `recent` and `chain_status` are the read side.

Scale: records go to `settings.audit_chains` parallel chains (one per transaction, chosen so that
concurrent writers do not queue on one lock); the chains' heads are anchored into one root chain. A
record is referenced by (chain_id, seq).

Hashed bytes (full definition in `yiwang.core.audit.encoding` and docs/audit.md): the UTF-8 encoding of

    "yiwang-audit-v1" NUL chain_id NUL seq NUL prev_hash NUL at NUL actor_kind NUL actor_id NUL
    actor_name NUL on_behalf_of NUL client_id NUL ip NUL action NUL object_type NUL object_id NUL
    subject NUL purpose NUL result NUL detail

(NUL = one 0x00 byte; integers in decimal; `at` in microseconds since the Unix epoch, UTC; prev_hash
the previous record's hash, 64 "0" for seq 1; detail canonical JSON with sorted keys and no spaces),
and the record's hash is SM3 of those bytes in lowercase hex. A root anchor hashes
"yiwang-audit-root-v1" NUL root_seq NUL prev_hash NUL at NUL chain_id NUL chain_seq NUL chain_hash.
"""

from yiwang.core.audit.chain import AuditEntry, AuditRef, anchor, append, append_many, record_refusal
from yiwang.core.audit.encoding import (
    GENESIS_HASH,
    anchor_hash,
    canonical_json,
    encode_anchor,
    encode_record,
    record_hash,
)
from yiwang.core.audit.models import (
    ROOT_CHAIN,
    AuditAnchor,
    AuditChainMark,
    AuditHead,
    AuditRecord,
    AuditSubject,
)
from yiwang.core.audit.queries import (
    AuditRecordRead,
    ChainHeadStatus,
    ChainStatus,
    chain_status,
    count_for_subject,
    recent,
    records_for_subject,
)
from yiwang.core.audit.verify import BrokenLink, VerifyReport, verify

__all__ = [
    "GENESIS_HASH",
    "ROOT_CHAIN",
    "AuditAnchor",
    "AuditChainMark",
    "AuditEntry",
    "AuditHead",
    "AuditRecord",
    "AuditRecordRead",
    "AuditRef",
    "AuditSubject",
    "BrokenLink",
    "ChainHeadStatus",
    "ChainStatus",
    "VerifyReport",
    "anchor",
    "anchor_hash",
    "append",
    "append_many",
    "canonical_json",
    "chain_status",
    "count_for_subject",
    "encode_anchor",
    "encode_record",
    "record_hash",
    "recent",
    "record_refusal",
    "records_for_subject",
    "verify",
]
