"""Identity domain logic, split by topic; the package `yiwang.identity` re-exports the public part."""
