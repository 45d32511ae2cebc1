"""Input policies: which inbox messages an agent reads, decided on observed provenance only."""

from __future__ import annotations

import random
from typing import NamedTuple

from service.experiment.spec import Policy
from service.provenance.message import Observed
from service.provenance.observation import observed_share
from service.provenance.tags import Carried


class Delivery(NamedTuple):
    """A message as one receiver holds it: the message, the tags it saw, when it arrived."""

    sender: str
    message: Carried
    observed: Observed
    received_round: int


FILTERS = ("human_only", "max_generation", "min_generation", "human_share")


def _readable(policy: Policy, inbox: list[Delivery]) -> list[Delivery]:
    """What a filtering policy (one of FILTERS) lets the agent read, in inbox order."""
    kind = policy.kind
    if kind == "human_only":
        return [d for d in inbox if d.observed.origin == "human"]
    if kind == "max_generation":
        assert policy.k is not None
        return [
            d
            for d in inbox
            if d.observed.generation is not None and d.observed.generation <= policy.k
        ]
    if kind == "min_generation":
        assert policy.k is not None
        return [
            d
            for d in inbox
            if d.observed.min_generation is not None and d.observed.min_generation <= policy.k
        ]
    shares = [observed_share(d.observed) for d in inbox]
    return [
        d
        for d, share in zip(inbox, shares, strict=True)
        if share is not None and share >= policy.min_share
    ]


def select(
    policy: Policy,
    inbox: list[Delivery],
    anchor: Delivery | None,
    max_inputs: int,
    rng: random.Random,
) -> list[Delivery]:
    """The deliveries to read, at most `max_inputs`; empty means the agent stays silent.

    `inbox` must come in a stable order (by sender); draws come only from `rng`.
    """
    kind = policy.kind
    if kind in ("all", "label"):
        return _sample(inbox, max_inputs, rng)
    if kind == "latest":
        shuffled = inbox[:]
        rng.shuffle(shuffled)
        shuffled.sort(key=lambda d: d.message.round, reverse=True)
        return _in_inbox_order(shuffled[:max_inputs], inbox)
    if kind in FILTERS:
        return _sample(_readable(policy, inbox), max_inputs, rng)
    if kind == "share_weighted":
        weights = [(1.0 + (observed_share(d.observed) or 0.0)) ** policy.weight for d in inbox]
        return _weighted_sample(inbox, weights, max_inputs, rng)
    if kind == "prefer_human":
        weights = [policy.weight if d.observed.origin == "human" else 1.0 for d in inbox]
        return _weighted_sample(inbox, weights, max_inputs, rng)
    if kind == "anchor":
        if anchor is None:
            return _sample(inbox, max_inputs, rng)
        others = [d for d in inbox if d.message.id != anchor.message.id]
        return [anchor, *_sample(others, max_inputs - 1, rng)]
    raise ValueError(f"unknown policy {kind!r}")


def draws(policy: Policy, inbox: list[Delivery], max_inputs: int) -> bool:
    """Whether `select` may draw from its generator: not when `all` or `label` reads the
    whole inbox (the step then need not seed one)."""
    return policy.kind not in ("all", "label") or len(inbox) > max_inputs


def _sample(items: list[Delivery], k: int, rng: random.Random) -> list[Delivery]:
    """`k` of `items` in their order: `rng.sample` draws positions exactly as it draws the
    items themselves."""
    if len(items) <= k:
        return list(items)
    return [items[i] for i in sorted(rng.sample(range(len(items)), k))]


def _weighted_sample(
    items: list[Delivery], weights: list[float], k: int, rng: random.Random
) -> list[Delivery]:
    """Sampling without replacement, each draw proportional to the remaining weights."""
    if len(items) <= k:
        return list(items)
    pool = list(zip(items, weights, strict=True))
    chosen = []
    for _ in range(k):
        pick = rng.random() * sum(w for _, w in pool)
        for index, (item, weight) in enumerate(pool):
            pick -= weight
            if pick < 0 or index == len(pool) - 1:
                chosen.append(item)
                del pool[index]
                break
    return _in_inbox_order(chosen, items)


def _in_inbox_order(chosen: list[Delivery], inbox: list[Delivery]) -> list[Delivery]:
    position = {id(d): i for i, d in enumerate(inbox)}
    return sorted(chosen, key=lambda d: position[id(d)])
