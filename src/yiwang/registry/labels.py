"""Chinese labels for the registry's audit action codes (read by `yiwang.core.labels`)."""

ACTION_LABELS = {
    "registry.external_source.activate": "启用外部数据源",
    "registry.external_source.deactivate": "停用外部数据源",
    "registry.external_source.register": "登记外部数据源",
}
