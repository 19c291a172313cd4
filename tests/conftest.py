"""Every test package shares the fixtures in tests/fixtures/ (a real broker per session, unique
names per test, a clean environment for `guard` children)."""

pytest_plugins = [
    "tests.fixtures.brokers",
    "tests.fixtures.names",
    "tests.fixtures.environment",
    "tests.fixtures.hypothesis_profile",
    "tests.fixtures.memory_kafka",
    "tests.fixtures.ordering",
]
