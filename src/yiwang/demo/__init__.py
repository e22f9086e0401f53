"""Deterministic synthetic city for the demo, the tests and the benchmarks (`yiwang demo`).

辽宁省云川市 — a city that does not exist: five districts with their streets and communities, the city's
departments, a population registry of households with valid citizen IDs, a legal-person registry with
valid credit codes, one account for every role and a sample OIDC relying party. The same seed always
builds the same city.
"""

from yiwang.demo.build import (
    build_city,
    build_test_city,
    city_fingerprint,
    ensure_demo_city,
    load_city,
    print_demo_accounts,
    stderr_progress,
)
from yiwang.demo.info import DEMO_PASSWORD, DemoAccount, DemoCityInfo, DemoClient

__all__ = [
    "DEMO_PASSWORD",
    "DemoAccount",
    "DemoCityInfo",
    "DemoClient",
    "build_city",
    "build_test_city",
    "city_fingerprint",
    "ensure_demo_city",
    "load_city",
    "print_demo_accounts",
    "stderr_progress",
]
