"""Mutation harness: switch each guard off in a copy of the repository and check that its test fails.

See run.py (the runner) and catalogue.toml (guard, file, exact text, guard-disabling replacement,
the tests that must fail).
"""
