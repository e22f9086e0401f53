"""CSV (UTF-8 with BOM, so Excel opens Chinese correctly) and XLSX exports of the derived lists.

Each export is a header row of Chinese column names and one row per list row; staff exports show
times in ISO 8601, Asia/Shanghai (UX.md). `table_for(kind, …)` builds the rows; `to_csv` / `to_xlsx`
write them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from yiwang.catalog.schemas import DemandRead, RatesRead, ResponsibilityRow, SharingRow
from yiwang.core.clock import to_local
from yiwang.core.export import csv_bytes, xlsx_bytes

Table = tuple[list[str], list[list[Any]]]


def _iso(value: datetime | None) -> str:
    return to_local(value).isoformat(timespec="seconds") if value else ""


def _pct(rate: float) -> str:
    return f"{rate * 100:.2f}%"


SHARING_HEADER = [
    "资源代码",
    "资源名称",
    "提供方",
    "提供方代码",
    "资源分类",
    "资源格式",
    "共享类型",
    "共享条件",
    "共享方式",
    "开放类型",
    "开放条件",
    "更新周期",
    "信息项",
    "挂接状态",
    "发布日期",
]


def sharing_table(rows: Iterable[SharingRow]) -> Table:
    body = [
        [
            r.code,
            r.name,
            r.provider_name,
            r.provider_code,
            " / ".join(r.category_path),
            r.form_label,
            r.sharing_label,
            r.sharing_condition,
            r.sharing_method_label,
            r.open_label,
            r.open_condition,
            r.cycle_label,
            "、".join(r.item_names),
            "已挂接" if r.mounted else "未挂接",
            _iso(r.published_at),
        ]
        for r in rows
    ]
    return list(SHARING_HEADER), body


DEMAND_HEADER = [
    "编号",
    "需求名称",
    "需求部门",
    "建议提供部门",
    "需求信息项",
    "用途及依据",
    "状态",
    "答复",
    "满足需求的目录",
    "登记时间",
    "答复时间",
]


def demand_table(rows: Iterable[DemandRead]) -> Table:
    body = [
        [
            r.id,
            r.title,
            r.requester_name,
            r.provider_name,
            "、".join(r.wanted_items),
            r.purpose,
            r.status_label,
            r.answer,
            r.entry_code or "",
            _iso(r.created_at),
            _iso(r.answered_at),
        ]
        for r in rows
    ]
    return list(DEMAND_HEADER), body


RESPONSIBILITY_HEADER = [
    "提供方",
    "提供方代码",
    "目录总数",
    "草稿及退回",
    "待审核",
    "已发布",
    "已挂接",
    "已撤销",
    "待答复需求",
    "目录联系人",
    "联系电话",
]


def responsibility_table(rows: Iterable[ResponsibilityRow]) -> Table:
    body = [
        [
            r.provider_name,
            r.provider_code,
            r.entries,
            r.drafts,
            r.submitted,
            r.published,
            r.mounted,
            r.retired,
            r.demands_open,
            r.contact_name,
            r.contact_phone,
        ]
        for r in rows
    ]
    return list(RESPONSIBILITY_HEADER), body


RATES_HEADER = [
    "提供方",
    "目录数",
    "已发布",
    "已挂接",
    "挂接率",
    "库表（发布/挂接）",
    "接口（发布/挂接）",
    "文件（发布/挂接）",
]


def rates_table(rates: RatesRead) -> Table:
    def forms(by_form: Sequence[Any]) -> list[str]:
        return [f"{f.published}/{f.mounted}" for f in by_form]

    body = [
        [d.provider_name, d.entries, d.published, d.mounted, _pct(d.mount_rate), *forms(d.by_form)]
        for d in rates.by_department
    ]
    body.append(
        ["合计", rates.entries, rates.published, rates.mounted, _pct(rates.mount_rate), *forms(rates.by_form)]
    )
    return list(RATES_HEADER), body


def to_csv(table: Table) -> bytes:
    header, body = table
    return csv_bytes(header, body)


def to_xlsx(table: Table, sheet: str) -> bytes:
    header, body = table
    return xlsx_bytes(sheet, header, body)


LIST_TITLES = {
    "sharing": "共享目录",
    "open": "开放目录",
    "demand": "需求目录",
    "responsibility": "责任清单",
    "rates": "编目统计",
}
LIST_FILENAMES = {
    "sharing": "sharing-list",
    "open": "open-list",
    "demand": "demand-list",
    "responsibility": "responsibility-list",
    "rates": "catalog-rates",
}
