"""The search: builders, runners, cost model, strategies, and the ``opforge`` command."""
