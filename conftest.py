"""Root conftest: enables the harness's pytest plugin for evals/ and tests/."""

pytest_plugins = ["harness.plugin"]
