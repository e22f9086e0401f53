"""The exchange's problem types, in one place: slug (URI `/problems/exchange-<name>`), HTTP status and
the Chinese title a client or page shows. Services raise `PROBLEMS[name](detail)`."""

from __future__ import annotations

from yiwang.core.errors import ProblemTypes

PROBLEMS = ProblemTypes(
    "exchange",
    {
        "not-a-consumer": (403, "无权调用共享数据接口"),
        "scope-missing": (403, "访问令牌的权限范围不足"),
        "not-catalogued": (403, "资源未编目发布"),
        "not-shared": (403, "不予共享"),
        "no-grant": (403, "没有共享授权"),
        "grant-revoked": (403, "共享授权已撤销"),
        "grant-expired": (403, "共享授权已到期"),
        "grant-not-yet-valid": (403, "共享授权尚未生效"),
        "purpose-not-granted": (403, "用途不在授权范围内"),
        "field-not-granted": (403, "字段超出授权范围"),
        "bulk-not-granted": (403, "未获批量共享授权"),
        "region-not-granted": (403, "地区超出授权范围"),
        "rate-limited": (429, "请求过于频繁"),
    },
)
