"""Observed provenance: what a receiver sees of a message's tags after loss and detection."""

from __future__ import annotations

import random
from functools import lru_cache

from service.experiment.spec import Provenance
from service.provenance.message import Observed


def observe(
    origin: str,
    generation: int,
    provenance: Provenance,
    rng: random.Random,
    *,
    min_generation: int | None = None,
    human_input_share: float | None = None,
) -> Observed:
    """One delivery: the tag survives with 1 - tag_loss; a lost tag goes to the detector.

    An intact tag shows the sender's true origin, generation, min_generation and
    human_input_share. The detector flags model text with probability tpr and human text with
    fpr; a flagged message is observed as model (generations and share unknown), an unflagged
    one as human (generation and min_generation 0, share unknown). Without a detector a lost
    tag leaves everything unknown.
    """
    if provenance.tag_loss == 0 or rng.random() >= provenance.tag_loss:
        return observed_tags(True, origin, generation, min_generation, human_input_share)
    detector = provenance.detector
    if detector is None:
        return observed_tags(False, "unknown", None)
    flag_rate = detector.tpr if origin == "model" else detector.fpr
    if rng.random() < flag_rate:
        return observed_tags(False, "model", None)
    return observed_tags(False, "human", 0, 0)


@lru_cache(maxsize=4096)
def observed_tags(
    tagged: bool,
    origin: str,
    generation: int | None,
    min_generation: int | None = None,
    human_input_share: float | None = None,
) -> Observed:
    """One shared (frozen) object per distinct tag value: cheap to build, and shared by every
    receiver that holds it (the wire format decodes to these too)."""
    return Observed(
        tagged=tagged,
        origin=origin,
        generation=generation,
        min_generation=min_generation,
        human_input_share=human_input_share,
    )


def observed_share(observed: Observed) -> float | None:
    """The human share a receiver can act on: 1 for a text observed as human, the sender's
    observed human_input_share for a model text, None when unknown."""
    if observed.origin == "human":
        return 1.0
    return observed.human_input_share


def label(observed: Observed) -> str:
    """How the `label` policy shows a tag to the model."""
    if observed.origin == "human":
        return (
            "[Human-written]"
            if observed.tagged
            else "[Unlabelled; a detector judged it human-written]"
        )
    if observed.origin == "model":
        if observed.tagged and observed.generation is not None:
            plural = "s" if observed.generation != 1 else ""
            return f"[AI-generated, {observed.generation} generation{plural} from a human text]"
        return "[Unlabelled; a detector judged it AI-generated]"
    return "[No provenance label]"
