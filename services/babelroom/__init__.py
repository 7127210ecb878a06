"""Babelroom: live translated captions for self-hosted, CPU-only video calls."""

__version__ = "0.1.0"
