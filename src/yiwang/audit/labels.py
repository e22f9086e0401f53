"""Chinese labels for the audit pages' own action codes (read by `yiwang.core.labels`)."""

ACTION_LABELS = {
    "audit.records.read": "查询审计记录",
    "audit.status.read": "查看审计链状态",
}
