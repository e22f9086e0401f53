"""数据治理 (B3, B4, B6, S1): bulk loading into the registries, declarative quality rules and quality
reports, rejected rows that can be corrected and reloaded, 一数一源 conflicts resolved in favour of
the authoritative source, and the grading workflow of data items (the catalog owns the grades).

Public face: other modules use only what is imported here.
"""

from yiwang.governance.schemas import (
    ConflictRead,
    ConflictResolution,
    GradeApplied,
    GradeApply,
    GradeItem,
    GradeSuggestion,
    GradingRead,
    LoadReport,
    LoadRow,
    RejectedRowRead,
    RuleSetRead,
    RuleSetWrite,
)
from yiwang.governance.service.conflicts import (
    ConflictFound,
    CrossCheck,
    cross_check,
    get_conflict,
    list_conflicts,
    resolve_conflict,
)
from yiwang.governance.service.grading import apply_grades, grading_suggestions
from yiwang.governance.service.loads import (
    LoadFailed,
    correct_rejected_row,
    dismiss_rejected_row,
    get_load,
    interrupt_stale_loads,
    list_loads,
    list_rejected_rows,
    load_file,
    rejected_rows_csv,
    reload_rejected,
)
from yiwang.governance.service.reading import FORMATS, FileRefused, read_file, remove_stale_scratch
from yiwang.governance.service.rules import (
    RULE_TYPES,
    Rule,
    RuleIn,
    compile_rules,
    default_rules,
    default_rules_json,
)
from yiwang.governance.service.rulesets import get_rule_set, rule_set_history, rules_in_force, update_rule_set
from yiwang.governance.service.validate import quality_score

__all__ = [
    "FORMATS",
    "RULE_TYPES",
    "ConflictFound",
    "ConflictRead",
    "ConflictResolution",
    "CrossCheck",
    "FileRefused",
    "GradeApplied",
    "GradeApply",
    "GradeItem",
    "GradeSuggestion",
    "GradingRead",
    "LoadFailed",
    "LoadReport",
    "LoadRow",
    "RejectedRowRead",
    "Rule",
    "RuleIn",
    "RuleSetRead",
    "RuleSetWrite",
    "apply_grades",
    "compile_rules",
    "correct_rejected_row",
    "cross_check",
    "default_rules",
    "default_rules_json",
    "dismiss_rejected_row",
    "get_conflict",
    "get_load",
    "get_rule_set",
    "interrupt_stale_loads",
    "grading_suggestions",
    "list_conflicts",
    "list_loads",
    "list_rejected_rows",
    "load_file",
    "quality_score",
    "read_file",
    "rejected_rows_csv",
    "remove_stale_scratch",
    "reload_rejected",
    "resolve_conflict",
    "rule_set_history",
    "rules_in_force",
    "update_rule_set",
]
