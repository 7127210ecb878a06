"""Model weights: what Babelroom runs, where it comes from, and ``babelroom models`` to put it in place."""
