"""Random generators derived from (seed, replicate, round, node, purpose), never from timing."""

from __future__ import annotations

import random
from enum import IntEnum
from hashlib import blake2b


class Purpose(IntEnum):
    """Independent random streams of one node in one round."""

    INJECTION = 1
    POLICY = 2
    DELIVERY = 3
    BACKEND = 4
    ASSIGNMENT = 5
    CORPUS = 6
    SAMPLE = 7
    ROUTE = 8
    SCHEDULE = 9
    FRESH = 10


def derive_seed(seed: int, replicate: int, round_: int, node: str, purpose: Purpose) -> int:
    """A 63-bit seed that depends only on its arguments."""
    digest = blake2b(
        f"{seed}|{replicate}|{round_}|{node}|{int(purpose)}".encode(), digest_size=8
    ).digest()
    return int.from_bytes(digest, "big") >> 1


def rng_for(seed: int, replicate: int, round_: int, node: str, purpose: Purpose) -> random.Random:
    """A generator for one purpose of one node in one round."""
    return random.Random(derive_seed(seed, replicate, round_, node, purpose))


def backend_seed(seed: int, replicate: int, round_: int, node: str) -> int:
    """The seed passed to a chat backend (31 bits: every API accepts it)."""
    return derive_seed(seed, replicate, round_, node, Purpose.BACKEND) & 0x7FFFFFFF
