"""Shared test set-up."""

# The fake Monite's fixtures (fake_monite, fake_monite_server), as users enable them.
pytest_plugins = ["monite_async.testing.pytest_plugin"]
