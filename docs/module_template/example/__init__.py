"""示例模块 (example): what this module does, in one sentence.

Public face: other modules use only what is imported here (DESIGN §3 rule 1).
"""

from yiwang.example.problems import PROBLEMS
from yiwang.example.schemas import OverviewRead
from yiwang.example.service import get_overview

__all__ = ["PROBLEMS", "OverviewRead", "get_overview"]
