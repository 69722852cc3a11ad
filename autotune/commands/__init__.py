"""Click commands of ``opforge``, one module per family."""
