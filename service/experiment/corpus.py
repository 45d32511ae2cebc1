"""Fresh human text: each source walks the corpus in its own seeded order, reshuffled per pass."""

from __future__ import annotations

from service.experiment.rng import Purpose, rng_for

FRESH_NODE = "fresh"  # the node of the texts a target reach hands out (never a graph node)


def fresh_text(corpus: list[str], seed: int, replicate: int, source: str, index: int) -> str:
    """The `index`-th (0-based) fresh text source `source` emits: sampling without replacement."""
    epoch, position = divmod(index, len(corpus))
    order = list(range(len(corpus)))
    rng_for(seed, replicate, epoch, source, Purpose.CORPUS).shuffle(order)
    return corpus[order[position]]


def injects(rate: float, seed: int, replicate: int, round_: int, source: str) -> bool:
    """Whether `source` emits fresh human text in `round_` (> 0): one draw with chance `rate`."""
    if rate <= 0 or round_ == 0:
        return False
    return rng_for(seed, replicate, round_, source, Purpose.INJECTION).random() < rate


def next_injection(
    rate: float, seed: int, replicate: int, sources: list[str], after: int, rounds: int
) -> int | None:
    """The first round after `after` (and before `rounds`) in which any source injects."""
    if rate <= 0 or not sources:
        return None
    for round_ in range(after + 1, rounds):
        if any(injects(rate, seed, replicate, round_, source) for source in sources):
            return round_
    return None
