"""The catalog's controlled vocabularies: stored keys (English) → labels (Chinese), and the
classification table of GB/T 21063 / the 2017 catalog compilation guide (类 and 项).

Keys are what the database, the API and exports carry; labels are what people read. Every input is
checked against these tables, so a typo is a 422, never a new category.
"""

from __future__ import annotations

import re
from typing import Final

FORMS: Final = {"table": "库表", "api": "接口", "file": "文件"}
SHARING_TYPES: Final = {"unconditional": "无条件共享", "conditional": "有条件共享", "none": "不予共享"}
OPEN_TYPES: Final = {"none": "不予开放", "conditional": "有条件开放", "unconditional": "无条件开放"}
UPDATE_CYCLES: Final = {
    "realtime": "实时",
    "daily": "每日",
    "weekly": "每周",
    "monthly": "每月",
    "quarterly": "每季",
    "yearly": "每年",
    "irregular": "不定期",
}
SHARING_METHODS: Final = {
    "api": "接口调用",
    "exchange": "库表交换",
    "file": "文件下载",
    "query": "在线查询核验",
}
STATUSES: Final = {
    "draft": "草稿",
    "submitted": "待审核",
    "returned": "已退回",
    "published": "已发布",
    "retired": "已撤销",
}
STATUS_TONES: Final = {
    "draft": "grey",
    "submitted": "yellow",
    "returned": "red",
    "published": "green",
    "retired": "grey",
}
GRADES: Final = {"general": "一般", "important": "重要", "core": "核心"}
DATA_TYPES: Final = {
    "string": "字符型",
    "integer": "整数型",
    "decimal": "数值型",
    "date": "日期型",
    "datetime": "日期时间型",
    "boolean": "布尔型",
    "binary": "二进制",
}
MASKING_RULES: Final = {
    "none": "不脱敏",
    "id": "证件号码（保留前6后4位）",
    "name": "姓名（保留姓氏）",
    "phone": "电话号码（保留前3后4位）",
    "address": "地址（保留至街道）",
    "date_to_year": "日期（只保留年份）",
    "hash": "哈希（SM3 加密杂凑）",
    "drop": "不提供",
}
MOUNT_KINDS: Final = {"resource": "基础库资源", "api": "接口服务", "file": "文件"}
DEMAND_STATUSES: Final = {
    "open": "待响应",
    "satisfied": "已满足",
    "planned": "已纳入编目计划",
    "rejected": "无法满足",
}
DEMAND_OUTCOMES: Final = ("satisfied", "planned", "rejected")
TIMELINE_ACTIONS: Final = {
    "drafted": "起草",
    "updated": "修改",
    "submitted": "提交审核",
    "approved": "审核通过并发布",
    "returned": "退回修改",
    "retired": "撤销",
    "mounted": "挂接资源",
    "unmounted": "解除挂接",
    "grade_changed": "调整分级",
}

# 类 (1 digit) and 项 (2 digits). 目 (3 digits) and 细目 (3 digits, optional) are numbered by the
# compiling body; only their form is checked.
CLASSES: Final = {"1": "基础信息资源", "2": "主题信息资源", "3": "部门信息资源"}
SUBCLASSES: Final = {
    "1": {
        "01": "人口信息",
        "02": "法人单位信息",
        "03": "自然资源和空间地理信息",
        "04": "社会信用信息",
        "05": "电子证照信息",
        "06": "宏观经济信息",
    },
    "2": {
        "01": "公共服务",
        "02": "健康保障",
        "03": "社会保障",
        "04": "食品药品安全",
        "05": "安全生产",
        "06": "价格监管",
        "07": "能源安全",
        "08": "信用体系",
        "09": "城乡建设",
        "10": "社区治理",
        "11": "生态环保",
        "12": "应急维稳",
    },
    "3": {
        "01": "综合政务",
        "02": "经济管理",
        "03": "国土资源能源",
        "04": "工业交通",
        "05": "城乡建设与环境保护",
        "06": "农业水利",
        "07": "财政金融",
        "08": "商业贸易",
        "09": "旅游服务",
        "10": "气象水文测绘地震",
        "11": "对外事务",
        "12": "政法监察",
        "13": "科技教育",
        "14": "文化卫生体育",
        "15": "国防与安全",
        "16": "劳动人事",
        "17": "民政与社区",
        "18": "文秘行政",
        "19": "综合党团",
    },
}

CATEGORY_RE: Final = re.compile(r"^([1-9])(\d{2})(\d{3})(\d{3})?$")
CODE_RE: Final = re.compile(r"^([1-9]\d{5}(?:\d{3})?)/(\d{6})$")
FIELD_NAME_RE: Final = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


def category_problem(code: str) -> str | None:
    """Why `code` is not a valid classification code, or None when it is."""
    m = CATEGORY_RE.fullmatch(code or "")
    if m is None:
        return "分类代码应为 6 位（类 1 位 + 项 2 位 + 目 3 位）或 9 位（再加细目 3 位）数字"
    cls, sub, item, detail = m.groups()
    if cls not in CLASSES:
        return f"类代码 {cls} 不存在（1 基础信息资源、2 主题信息资源、3 部门信息资源）"
    if sub not in SUBCLASSES[cls]:
        return f"项代码 {sub} 不在“{CLASSES[cls]}”之下"
    if item == "000":
        return "目代码不能为 000"
    if detail == "000":
        return "细目代码不能为 000"
    return None


def category_path(code: str) -> list[str]:
    """[类 name, 项 name, "目 001", ("细目 001")] for display; [] for an invalid code."""
    m = CATEGORY_RE.fullmatch(code or "")
    if m is None or category_problem(code):
        return []
    cls, sub, item, detail = m.groups()
    path = [CLASSES[cls], SUBCLASSES[cls][sub], f"目 {item}"]
    if detail:
        path.append(f"细目 {detail}")
    return path


def code_problem(code: str) -> str | None:
    """Why `code` is not a valid resource code (前段码/后段码), or None when it is."""
    m = CODE_RE.fullmatch(code or "")
    if m is None:
        return "资源代码格式应为“分类代码/6 位顺序码”，如 101001/000001"
    problem = category_problem(m.group(1))
    if problem:
        return problem
    if m.group(2) == "000000":
        return "顺序码不能为 000000"
    return None


def normalise_code(code: str) -> str:
    """A code as written in a URL (``101001-000001``) or with spaces, in its canonical form."""
    return (code or "").strip().replace("-", "/").replace(" ", "")


def url_code(code: str) -> str:
    """The form of a code used in URLs: the slash becomes a hyphen (``101001-000001``)."""
    return code.replace("/", "-")


def label(table: dict[str, str], key: str | None) -> str:
    return table.get(key or "", key or "")
