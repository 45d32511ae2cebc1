"""Tests for observed provenance: tag loss, the detector and the labels shown to models."""

from __future__ import annotations

import random
import re

import pytest
from pydantic import ValidationError

from agents.tasks import LABEL_GUIDE, InputText, render_prompt
from service.experiment.spec import Detector, Provenance
from service.provenance.message import Observed
from service.provenance.observation import label, observe

DRAWS = 20_000


def _draws(
    origin: str, generation: int, provenance: Provenance, seed: int, n: int = DRAWS
) -> list[Observed]:
    rng = random.Random(seed)
    return [observe(origin, generation, provenance, rng) for _ in range(n)]


# --- observe -------------------------------------------------------------------------------


@pytest.mark.parametrize(("origin", "generation"), [("human", 0), ("model", 1), ("model", 7)])
def test_no_tag_loss_always_shows_true_tags(origin: str, generation: int) -> None:
    """tag_loss 0 delivers the true origin and generation, tagged, every time."""
    provenance = Provenance(tag_loss=0.0, detector=Detector(tpr=0.5, fpr=0.5))
    rng = random.Random(0)
    expected = Observed(tagged=True, origin=origin, generation=generation)  # type: ignore[arg-type]
    assert all(observe(origin, generation, provenance, rng) == expected for _ in range(200))


def test_no_tag_loss_draws_nothing_from_the_rng() -> None:
    """With tag_loss 0 observe() leaves the rng untouched, so other draws are unaffected."""
    rng = random.Random(11)
    state = rng.getstate()
    observe("model", 2, Provenance(), rng)
    assert rng.getstate() == state


@pytest.mark.parametrize(("origin", "generation"), [("human", 0), ("model", 3)])
def test_full_tag_loss_without_detector_is_unknown(origin: str, generation: int) -> None:
    """tag_loss 1 with no detector always leaves the origin unknown and the generation None."""
    provenance = Provenance(tag_loss=1.0)
    rng = random.Random(1)
    for _ in range(200):
        assert observe(origin, generation, provenance, rng) == Observed(
            tagged=False, origin="unknown", generation=None
        )


@pytest.mark.parametrize("tag_loss", [0.1, 0.75])
def test_tag_lost_fraction_matches_tag_loss(tag_loss: float) -> None:
    """Over 20,000 deliveries the share of lost tags is within 0.02 of tag_loss."""
    observed = _draws("model", 2, Provenance(tag_loss=tag_loss), seed=42)
    lost = sum(not o.tagged for o in observed) / DRAWS
    assert lost == pytest.approx(tag_loss, abs=0.02)
    assert all(
        o == Observed(tagged=True, origin="model", generation=2) for o in observed if o.tagged
    )
    assert all(o.origin == "unknown" for o in observed if not o.tagged)


def test_detector_flags_model_text_at_tpr() -> None:
    """With every tag lost, model text is judged AI at rate tpr (within 0.02)."""
    provenance = Provenance(tag_loss=1.0, detector=Detector(tpr=0.8, fpr=0.1))
    observed = _draws("model", 4, provenance, seed=7)
    flagged = sum(o.origin == "model" for o in observed) / DRAWS
    assert flagged == pytest.approx(0.8, abs=0.02)
    assert all(not o.tagged for o in observed)


def test_detector_flags_human_text_at_fpr() -> None:
    """With every tag lost, human text is wrongly judged AI at rate fpr (within 0.02)."""
    provenance = Provenance(tag_loss=1.0, detector=Detector(tpr=0.8, fpr=0.1))
    observed = _draws("human", 0, provenance, seed=8)
    flagged = sum(o.origin == "model" for o in observed) / DRAWS
    assert flagged == pytest.approx(0.1, abs=0.02)
    assert all(not o.tagged for o in observed)


def test_partial_loss_with_detector_combines_rates() -> None:
    """Model text is seen as model with 1 - loss + loss * tpr, tagged or flagged."""
    provenance = Provenance(tag_loss=0.4, detector=Detector(tpr=0.5, fpr=0.05))
    observed = _draws("model", 1, provenance, seed=9)
    tagged = sum(o.tagged for o in observed) / DRAWS
    seen_model = sum(o.origin == "model" for o in observed) / DRAWS
    assert tagged == pytest.approx(0.6, abs=0.02)
    assert seen_model == pytest.approx(0.6 + 0.4 * 0.5, abs=0.02)
    assert not any(o.origin == "unknown" for o in observed)


def test_lost_tag_judged_human_has_generation_zero() -> None:
    """A lost tag judged human reads as generation and min_generation 0, share unknown, even
    for a deep model text."""
    provenance = Provenance(tag_loss=1.0, detector=Detector(tpr=0.0, fpr=0.0))
    rng = random.Random(2)
    for origin, generation in (("model", 5), ("human", 0)):
        seen = observe(origin, generation, provenance, rng, min_generation=3, human_input_share=1)
        assert seen == Observed(
            tagged=False, origin="human", generation=0, min_generation=0, human_input_share=None
        )


def test_lost_tag_judged_model_has_no_generation() -> None:
    """A lost tag judged AI has an unknown (None) generation, for model and human text."""
    provenance = Provenance(tag_loss=1.0, detector=Detector(tpr=1.0, fpr=1.0))
    rng = random.Random(3)
    for origin, generation in (("model", 5), ("human", 0)):
        assert observe(origin, generation, provenance, rng) == Observed(
            tagged=False, origin="model", generation=None
        )


def test_observe_is_deterministic_for_a_seed() -> None:
    """The same seed gives the same sequence of observations."""
    provenance = Provenance(tag_loss=0.5, detector=Detector())
    first = _draws("model", 2, provenance, seed=5, n=500)
    assert first == _draws("model", 2, provenance, seed=5, n=500)
    assert first != _draws("model", 2, provenance, seed=6, n=500)


# --- label ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("observed", "expected"),
    [
        (
            Observed(tagged=True, origin="model", generation=3),
            "[AI-generated, 3 generations from a human text]",
        ),
        (
            Observed(tagged=True, origin="model", generation=1),
            "[AI-generated, 1 generation from a human text]",
        ),
        (Observed(tagged=True, origin="human", generation=0), "[Human-written]"),
        (
            Observed(tagged=False, origin="human", generation=0),
            "[Unlabelled; a detector judged it human-written]",
        ),
        (
            Observed(tagged=False, origin="model"),
            "[Unlabelled; a detector judged it AI-generated]",
        ),
        (Observed(tagged=False, origin="unknown"), "[No provenance label]"),
    ],
)
def test_label_strings(observed: Observed, expected: str) -> None:
    """Each kind of observed tag is shown to the model with its own label text."""
    assert label(observed) == expected


@pytest.mark.parametrize(
    "observed",
    [
        Observed(tagged=True, origin="model", generation=3),
        Observed(tagged=True, origin="human", generation=0),
        Observed(tagged=False, origin="human", generation=0),
        Observed(tagged=False, origin="model"),
        Observed(tagged=False, origin="unknown"),
    ],
)
def test_every_label_is_explained_in_the_prompt(observed: Observed) -> None:
    """The prompt of a labelled request explains the label's kind (its words before the first
    comma or semicolon, N standing for the number), once, before the texts."""
    text = label(observed)
    kind = re.split(r"[,;]", text.strip("[]"))[0]
    prompt = render_prompt("summarize", [InputText("Some text.", text)])
    assert kind in LABEL_GUIDE
    assert prompt.count(LABEL_GUIDE) == 1
    assert prompt.index(LABEL_GUIDE) < prompt.index(text)
    if "generation" in text:
        assert "N generations from a human text" in LABEL_GUIDE


def test_unlabelled_prompts_carry_no_guide() -> None:
    """Without labels the prompt says nothing about provenance."""
    prompt = render_prompt("merge", [InputText("One."), InputText("Two.")])
    assert LABEL_GUIDE not in prompt and "provenance" not in prompt


def test_labels_of_observed_deliveries() -> None:
    """observe() followed by label() gives the label of each observation path."""
    rng = random.Random(0)
    tagged = observe("model", 2, Provenance(), rng)
    assert label(tagged) == "[AI-generated, 2 generations from a human text]"
    lost = observe("model", 2, Provenance(tag_loss=1.0), rng)
    assert label(lost) == "[No provenance label]"
    flagged = observe("model", 2, Provenance(tag_loss=1.0, detector=Detector(tpr=1.0)), rng)
    assert label(flagged) == "[Unlabelled; a detector judged it AI-generated]"
    missed = observe("model", 2, Provenance(tag_loss=1.0, detector=Detector(tpr=0.0)), rng)
    assert label(missed) == "[Unlabelled; a detector judged it human-written]"


def test_provenance_validation() -> None:
    """tag_loss and detector rates must lie in [0, 1]; defaults are tpr 0.9 and fpr 0.05."""
    detector = Detector()
    assert (detector.tpr, detector.fpr) == (0.9, 0.05)
    with pytest.raises(ValidationError):
        Provenance(tag_loss=1.5)
    with pytest.raises(ValidationError):
        Detector(tpr=-0.1)
