"""Chinese labels for the exchange's audit action codes and refusal types (read by
`yiwang.core.labels`)."""

ACTION_LABELS = {
    "exchange.call": "调用共享数据",
    "exchange.calls.read": "查看调用日志",
    "exchange.data_use.read": "查看本人数据使用记录",
    "exchange.grant.approve": "批准共享授权",
    "exchange.grant.list": "查看共享授权列表",
    "exchange.grant.narrow": "缩小共享授权范围",
    "exchange.grant.read": "查看共享授权",
    "exchange.grant.refuse": "拒绝共享申请",
    "exchange.grant.revoke": "撤销共享授权",
    "exchange.objection.answer": "答复数据使用异议",
    "exchange.objection.list": "查看数据使用异议",
    "exchange.objection.raise": "提出数据使用异议",
    "exchange.objection.read": "查看数据使用异议",
    "exchange.page.home": "打开共享交换",
    "exchange.query": "查询共享数据",
    "exchange.request.decide": "审核共享申请",
    "exchange.request.file": "提出共享申请",
    "exchange.request.list": "查看共享申请列表",
    "exchange.request.read": "查看共享申请",
    "exchange.request.withdraw": "撤回共享申请",
    "exchange.settings.read": "查看共享交换设置",
    "exchange.settings.update": "修改共享交换设置",
    "exchange.stats": "查看调用统计",
    "exchange.stats.read": "查看调用统计",
    "exchange.stats.roll_up": "汇总调用统计",
    "exchange.subtrees": "查看下级单位",
}
PROBLEM_LABELS = {
    "exchange-grant-expired": "共享授权已到期",
    "exchange-grant-not-yet-valid": "共享授权尚未生效",
    "exchange-purpose-not-granted": "用途不在授权范围内",
    "exchange-no-grant": "没有共享授权",
}
