"""Deterministic synthetic worlds written as fixture feeds (see ``python -m synthetic``)."""
