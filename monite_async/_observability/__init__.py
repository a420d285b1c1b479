"""_observability."""
