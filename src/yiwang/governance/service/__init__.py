"""The domain logic of 数据治理, by topic: access, rule sets, loads, conflicts, grading."""
