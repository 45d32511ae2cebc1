"""The messages whose embedding distance to the source a run measures: a uniform sample of
`embed_sample` messages per generation (reservoir sampling), embedded once at the end."""

from __future__ import annotations

import random

from agents.embedding import Embedder
from service.measure.drift_table import EMBEDDING_METRICS
from service.measure.metrics import cosine_distance, euclidean


class EmbeddingSample:
    """Reservoirs of (message id, text) per generation, drawn with `rng`."""

    def __init__(self, limit: int | str, rng: random.Random) -> None:
        self.limit = limit
        self.rng = rng
        self.reservoirs: dict[int, list[tuple[str, str]]] = {}
        self.seen: dict[int, int] = {}

    def offer(self, generation: int, message_id: str, text: str) -> None:
        seen = self.seen.get(generation, 0) + 1
        self.seen[generation] = seen
        reservoir = self.reservoirs.setdefault(generation, [])
        if self.limit == "all" or len(reservoir) < int(self.limit):
            reservoir.append((message_id, text))
        else:
            slot = self.rng.randrange(seen)
            if slot < int(self.limit):
                reservoir[slot] = (message_id, text)

    async def distances(
        self, embedder: Embedder, source: str
    ) -> dict[int, dict[str, dict[str, float]]]:
        """Per generation, per sampled message, its Euclidean and cosine distance to `source`
        (raises the embedder's BackendError)."""
        sampled = [(g, item) for g in sorted(self.reservoirs) for item in self.reservoirs[g]]
        if not sampled:
            return {}
        vectors = await embedder.embed([source, *(text for _, (_, text) in sampled)])
        original, rest = vectors[0], vectors[1:]
        pairs = zip(euclidean(rest, original), cosine_distance(rest, original), strict=True)
        measured: dict[int, dict[str, dict[str, float]]] = {}
        for (generation, (message_id, _)), (euc, cos) in zip(sampled, pairs, strict=True):
            values = dict(zip(EMBEDDING_METRICS, (float(euc), float(cos)), strict=True))
            measured.setdefault(generation, {})[message_id] = values
        return measured
