"""The synthetic side of calibration: the same chains retold by the channel under a candidate
set of parameters, by the function the synthetic backend calls (no engine: a fit needs
thousands of chains)."""

from __future__ import annotations

import random
from collections.abc import Sequence

import numpy as np

from agents.channel import Channel
from agents.persona import Persona
from agents.synthetic import retell
from service.calibrate.curves import Chain
from service.experiment.spec import Source
from service.measure.metrics import facts_retained, words


def simulate(
    channel: Channel,
    sources: dict[str, Source],
    personas: Sequence[Persona],
    generations: int,
    replicates: int,
    seed: int = 0,
) -> tuple[list[Chain], dict[tuple[str, str, int], list[str]]]:
    """`replicates` chains per source and persona; their curves (cosine left unmeasured) and
    their texts by (source, persona, replicate), generation 1 first."""
    chains: list[Chain] = []
    texts: dict[tuple[str, str, int], list[str]] = {}
    for source_index, (name, source) in enumerate(sources.items()):
        source_words = len(words(source.text))
        facts = source.facts
        for persona_index, persona in enumerate(personas):
            style = channel.style_of(persona)
            for replicate in range(replicates):
                rng = random.Random(
                    f"{seed}:{source_index}:{persona_index}:{replicate}"  # one stream a chain
                )
                text = source.text
                retention = [1.0 if facts else np.nan]
                length = [1.0]
                told = []
                for _ in range(generations):
                    text = retell([text], style, rng, "summarize", (), channel)
                    told.append(text)
                    retention.append(
                        len(facts_retained(text, facts)) / len(facts) if facts else np.nan
                    )
                    length.append(len(words(text)) / source_words)
                values = {
                    "fact_retention": np.array(retention),
                    "length_ratio": np.array(length),
                    "cosine": np.full(generations + 1, np.nan),
                }
                values["cosine"][0] = 0.0
                chains.append(Chain(name, persona.name, values))
                texts[name, persona.name, replicate] = told
    return chains, texts
