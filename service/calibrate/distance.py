"""Embedding distance of simulated chains to their source, by the embedder the real runs used."""

from __future__ import annotations

import numpy as np

from agents.embedding import Embedder
from service.calibrate.curves import Chain
from service.experiment.spec import Source
from service.measure.metrics import cosine_distance


async def with_cosine(
    chains: list[Chain],
    texts: dict[tuple[str, str, int], list[str]],
    sources: dict[str, Source],
    embedder: Embedder,
) -> list[Chain]:
    """`chains` (in `simulate`'s order) with their cosine distance to the source filled in."""
    names = list(sources)
    origins = await embedder.embed([sources[name].text for name in names])
    keys = list(texts)
    flat = [text for key in keys for text in texts[key]]
    vectors = await embedder.embed(flat) if flat else np.zeros((0, origins.shape[1]))
    filled = []
    start = 0
    for chain, key in zip(chains, keys, strict=True):
        told = texts[key]
        distances = cosine_distance(
            vectors[start : start + len(told)], origins[names.index(key[0])]
        )
        start += len(told)
        values = dict(chain.values)
        values["cosine"] = np.concatenate(([0.0], distances))
        filled.append(Chain(chain.source, chain.persona, values))
    return filled
