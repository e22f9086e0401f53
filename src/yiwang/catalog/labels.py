"""Chinese labels for the catalog's audit action codes (read by `yiwang.core.labels`)."""

ACTION_LABELS = {
    "catalog.entry.edit": "编辑目录",
    "catalog.demand.answer": "答复数据需求",
    "catalog.demand.file": "提出数据需求",
    "catalog.demand.read": "查看数据需求",
    "catalog.entry.approve": "审核通过目录",
    "catalog.entry.draft": "起草目录",
    "catalog.entry.mount": "挂接数据资源",
    "catalog.entry.read": "查看目录",
    "catalog.entry.retire": "停用目录",
    "catalog.entry.return": "退回目录",
    "catalog.entry.review": "审核目录",
    "catalog.entry.submit": "提交目录审核",
    "catalog.entry.unmount": "解除挂接",
    "catalog.entry.update": "修改目录",
    "catalog.item.grade": "调整信息项分级",
    "catalog.manage": "维护目录",
    "catalog.page.csrf": "页面提交已过期",
    "catalog.read": "查询目录",
}
