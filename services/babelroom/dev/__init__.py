"""Developer tools, kept out of the production path: the local stack, the demo, the bench, ``make up``.

Nothing under ``babelroom`` outside this package imports it; the CLI imports these modules lazily.
"""
