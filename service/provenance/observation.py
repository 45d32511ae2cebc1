"""Observed provenance: what a receiver sees of a message's tags after loss and detection."""

from __future__ import annotations

import random
from functools import lru_cache

from service.experiment.spec import Provenance
from service.provenance.message import Observed


def observe(origin: str, generation: int, provenance: Provenance, rng: random.Random) -> Observed:
    """One delivery: the tag survives with 1 - tag_loss; a lost tag goes to the detector.

    The detector flags model text with probability tpr and human text with fpr; a flagged
    message is observed as model (generation unknown), an unflagged one as human (generation 0).
    Without a detector a lost tag leaves the origin unknown.
    """
    if provenance.tag_loss == 0 or rng.random() >= provenance.tag_loss:
        return observed_tags(True, origin, generation)
    detector = provenance.detector
    if detector is None:
        return observed_tags(False, "unknown", None)
    flag_rate = detector.tpr if origin == "model" else detector.fpr
    if rng.random() < flag_rate:
        return observed_tags(False, "model", None)
    return observed_tags(False, "human", 0)


@lru_cache(maxsize=4096)
def observed_tags(tagged: bool, origin: str, generation: int | None) -> Observed:
    """One shared (frozen) object per distinct tag value: cheap to build, and pickled once
    per batch however many receivers hold it."""
    return Observed(tagged=tagged, origin=origin, generation=generation)  # type: ignore[arg-type]


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
