"""Chinese labels for data governance's audit action codes (read by `yiwang.core.labels`)."""

ACTION_LABELS = {
    "governance.conflict.resolve": "处理一数一源冲突",
    "governance.conflicts.read": "查看一数一源冲突",
    "governance.grading.apply": "确定数据分级",
    "governance.grading.read": "查看分级建议",
    "governance.load": "装载数据",
    "governance.load.edit": "修改装载记录",
    "governance.load.read": "查看质量报告",
    "governance.page.grading": "打开分类分级",
    "governance.page.loads": "打开数据装载",
    "governance.page.rules": "打开质量规则",
    "governance.rejected.correct": "更正被拒收的数据行",
    "governance.rejected.dismiss": "忽略被拒收的数据行",
    "governance.rejected.export": "导出被拒收的数据行",
    "governance.rejected.read": "查看被拒收的数据行",
    "governance.rejected.reload": "重新装载已更正的数据行",
    "governance.resources.read": "查看可装载的资源",
    "governance.rules.read": "查看质量规则",
    "governance.rules.update": "修改质量规则",
}
