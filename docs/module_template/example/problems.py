"""The module's problem types, in one place: `raise PROBLEMS["not-staff"](detail)` gives the problem
type `/problems/example-not-staff` with its Chinese title."""

from yiwang.core.errors import ProblemTypes

PROBLEMS = ProblemTypes("example", {"not-staff": (403, "仅向政务工作人员开放")})
