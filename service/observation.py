"""Observed provenance: what a receiver sees of a message's tags after loss and detection."""

from __future__ import annotations

import random

from service.message import Observed
from service.spec import Provenance


def observe(origin: str, generation: int, provenance: Provenance, rng: random.Random) -> Observed:
    """One delivery: the tag survives with 1 - tag_loss; a lost tag goes to the detector.

    The detector flags model text with probability tpr and human text with fpr; a flagged
    message is observed as model (generation unknown), an unflagged one as human (generation 0).
    Without a detector a lost tag leaves the origin unknown.
    """
    if provenance.tag_loss == 0 or rng.random() >= provenance.tag_loss:
        return Observed(tagged=True, origin=origin, generation=generation)  # type: ignore[arg-type]
    detector = provenance.detector
    if detector is None:
        return Observed(tagged=False, origin="unknown")
    flag_rate = detector.tpr if origin == "model" else detector.fpr
    if rng.random() < flag_rate:
        return Observed(tagged=False, origin="model")
    return Observed(tagged=False, origin="human", generation=0)


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
