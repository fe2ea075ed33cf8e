"""Deterministic seeds: every random step is derived from the archive seed and the trial id."""

import hashlib


def derive_seed(archive_seed: int, *parts: str) -> int:
    """A 32-bit seed that depends only on ``archive_seed`` and ``parts`` (e.g. the trial id)."""
    text = ":".join([str(archive_seed), *parts])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big")
