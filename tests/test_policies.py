"""Tests for the input policies that pick which inbox messages an agent reads."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from pydantic import ValidationError

from service.experiment.spec import Policy
from service.provenance.message import Observed
from service.provenance.policies import Delivery, select
from service.provenance.tags import Carried


def _delivery(
    message_id: str,
    *,
    origin: str = "model",
    generation: int = 1,
    observed_origin: str | None = None,
    observed_generation: int | None = -1,
    tagged: bool = True,
    round_: int = 0,
    sender: str | None = None,
) -> Delivery:
    """A delivery whose observed tags default to the true ones."""
    seen_generation = generation if observed_generation == -1 else observed_generation
    return Delivery(
        sender=sender or f"s-{message_id}",
        message=Carried(
            id=message_id,
            text=f"text of {message_id}",
            origin=origin,
            generation=generation,
            min_generation=generation,
            roots=frozenset({"h0"}),
            round=round_,
        ),
        observed=Observed(
            tagged=tagged,
            origin=observed_origin or origin,  # type: ignore[arg-type]
            generation=seen_generation,
        ),
        received_round=round_ + 1,
    )


def _ids(selected: list[Delivery]) -> list[str]:
    return [d.message.id for d in selected]


def _inbox(n: int) -> list[Delivery]:
    return [_delivery(f"m{i}", round_=i) for i in range(n)]


# --- all / label ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["all", "label"])
def test_all_takes_everything_when_within_limit(kind: str) -> None:
    """With no more messages than max_inputs every delivery is read, in inbox order."""
    inbox = _inbox(3)
    for max_inputs in (3, 5):
        assert select(Policy(kind=kind), inbox, None, max_inputs, random.Random(0)) == inbox


@pytest.mark.parametrize("kind", ["all", "label"])
def test_all_samples_max_inputs_in_inbox_order(kind: str) -> None:
    """Over the limit, max_inputs distinct deliveries are sampled and kept in inbox order."""
    inbox = _inbox(6)
    order = {d.message.id: i for i, d in enumerate(inbox)}
    picked: Counter[str] = Counter()
    for seed in range(300):
        chosen = _ids(select(Policy(kind=kind), inbox, None, 3, random.Random(seed)))
        assert len(chosen) == 3
        assert len(set(chosen)) == 3
        assert chosen == sorted(chosen, key=order.__getitem__)
        picked.update(chosen)
    # Uniform sampling: each of 6 is picked about half the time.
    assert set(picked) == set(order)
    assert all(120 <= count <= 180 for count in picked.values())


def test_label_selects_like_all() -> None:
    """label and all draw the same deliveries from the same rng."""
    inbox = _inbox(7)
    for seed in range(20):
        a = select(Policy(kind="all"), inbox, None, 3, random.Random(seed))
        b = select(Policy(kind="label"), inbox, None, 3, random.Random(seed))
        assert a == b


def test_empty_inbox_gives_empty_selection() -> None:
    """An empty inbox means silence for every policy that reads the inbox."""
    for kind in ("all", "label", "latest", "human_only", "prefer_human"):
        assert select(Policy(kind=kind), [], None, 3, random.Random(0)) == []
    assert select(Policy(kind="max_generation", k=2), [], None, 3, random.Random(0)) == []


# --- latest --------------------------------------------------------------------------------


def test_latest_takes_the_most_recent_rounds() -> None:
    """latest reads the messages written in the highest rounds, returned in inbox order."""
    inbox = [_delivery(f"m{i}", round_=r) for i, r in enumerate([1, 5, 3, 5, 2])]
    for seed in range(20):
        assert _ids(select(Policy(kind="latest"), inbox, None, 2, random.Random(seed))) == [
            "m1",
            "m3",
        ]
        assert _ids(select(Policy(kind="latest"), inbox, None, 3, random.Random(seed))) == [
            "m1",
            "m2",
            "m3",
        ]


def test_latest_breaks_ties_at_random() -> None:
    """Among equally recent messages the choice varies with the rng; older ones never win."""
    inbox = [_delivery(f"m{i}", round_=r) for i, r in enumerate([4, 4, 4, 1])]
    picked: Counter[str] = Counter()
    for seed in range(200):
        chosen = _ids(select(Policy(kind="latest"), inbox, None, 2, random.Random(seed)))
        assert len(chosen) == 2
        assert "m3" not in chosen
        picked.update(chosen)
    assert set(picked) == {"m0", "m1", "m2"}


def test_latest_within_limit_takes_all() -> None:
    """latest with room for every message reads them all in inbox order."""
    inbox = [_delivery(f"m{i}", round_=r) for i, r in enumerate([3, 1, 2])]
    assert select(Policy(kind="latest"), inbox, None, 3, random.Random(1)) == inbox


# --- human_only ----------------------------------------------------------------------------


def test_human_only_reads_only_observed_human() -> None:
    """Only observed-human deliveries are read, whatever their true origin or tag state."""
    inbox = [
        _delivery("tagged-human", origin="human", generation=0),
        _delivery("model"),
        _delivery("judged-human", observed_origin="human", observed_generation=0, tagged=False),
        _delivery("unknown", observed_origin="unknown", observed_generation=None, tagged=False),
        _delivery("true-human-judged-model", origin="human", generation=0, observed_origin="model"),
    ]
    selected = select(Policy(kind="human_only"), inbox, None, 5, random.Random(0))
    assert _ids(selected) == ["tagged-human", "judged-human"]


def test_human_only_without_human_is_silent() -> None:
    """With no observed-human message human_only returns an empty list."""
    inbox = [
        _delivery("a"),
        _delivery("b", origin="human", generation=0, observed_origin="model"),
        _delivery("c", observed_origin="unknown", observed_generation=None, tagged=False),
    ]
    assert select(Policy.model_validate("human_only"), inbox, None, 3, random.Random(0)) == []


def test_human_only_samples_down_to_max_inputs() -> None:
    """More observed-human messages than max_inputs are sampled to max_inputs, in inbox order."""
    inbox = [_delivery(f"h{i}", origin="human", generation=0) for i in range(5)]
    inbox.insert(2, _delivery("model"))
    for seed in range(20):
        chosen = _ids(select(Policy(kind="human_only"), inbox, None, 2, random.Random(seed)))
        assert len(chosen) == 2
        assert "model" not in chosen
        assert chosen == sorted(chosen)


# --- prefer_human --------------------------------------------------------------------------


def _human_share(weight: float, draws: int = 4000) -> dict[str, float]:
    """How often each delivery is the single pick of prefer_human over many rngs."""
    inbox = [
        _delivery("model-seen-human", observed_origin="human"),
        _delivery("human-seen-model", origin="human", generation=0, observed_origin="model"),
        _delivery("model-1"),
        _delivery("model-2"),
    ]
    policy = Policy(kind="prefer_human", weight=weight)
    counts: Counter[str] = Counter()
    for seed in range(draws):
        (chosen,) = select(policy, inbox, None, 1, random.Random(seed))
        counts[chosen.message.id] += 1
    return {key: counts[key] / draws for key in _ids(inbox)}


def test_prefer_human_weight_raises_the_human_share() -> None:
    """Weight 5 picks the observed-human text far more often than weight 1 does."""
    heavy = _human_share(5.0)
    even = _human_share(1.0)
    assert heavy["model-seen-human"] > even["model-seen-human"] + 0.25
    # Exact chances: 5 / (5 + 3) with weight 5, 1 / 4 with weight 1.
    assert heavy["model-seen-human"] == pytest.approx(5 / 8, abs=0.03)
    assert even["model-seen-human"] == pytest.approx(1 / 4, abs=0.03)


def test_prefer_human_weights_observed_not_true_origin() -> None:
    """A true-model text observed as human is preferred; a true-human one seen as model is not."""
    heavy = _human_share(5.0)
    assert heavy["human-seen-model"] == pytest.approx(1 / 8, abs=0.03)
    assert heavy["model-seen-human"] > 4 * heavy["human-seen-model"]
    assert heavy["human-seen-model"] == pytest.approx(heavy["model-1"], abs=0.03)


def test_prefer_human_draws_without_replacement_in_inbox_order() -> None:
    """Several picks are distinct deliveries, returned in inbox order."""
    inbox = [_delivery(f"m{i}", observed_origin="human" if i % 2 else "model") for i in range(6)]
    policy = Policy(kind="prefer_human", weight=5.0)
    for seed in range(100):
        chosen = _ids(select(policy, inbox, None, 3, random.Random(seed)))
        assert len(chosen) == 3
        assert len(set(chosen)) == 3
        assert chosen == sorted(chosen)


def test_prefer_human_within_limit_takes_all() -> None:
    """With room for every message prefer_human reads them all."""
    inbox = _inbox(2)
    assert select(Policy(kind="prefer_human"), inbox, None, 2, random.Random(0)) == inbox


# --- max_generation ------------------------------------------------------------------------


def _generation_inbox() -> list[Delivery]:
    return [
        _delivery("g0", origin="human", generation=0),
        _delivery("g1", generation=1),
        _delivery("g2", generation=2),
        _delivery("g3", generation=3),
        _delivery("judged-model", generation=1, observed_generation=None, tagged=False),
        _delivery("unknown", observed_origin="unknown", observed_generation=None, tagged=False),
        _delivery(
            "true3-judged-human", generation=3, observed_origin="human", observed_generation=0
        ),
    ]


@pytest.mark.parametrize(
    ("k", "expected"),
    [
        (0, ["g0", "true3-judged-human"]),
        (1, ["g0", "g1", "true3-judged-human"]),
        (2, ["g0", "g1", "g2", "true3-judged-human"]),
    ],
)
def test_max_generation_honours_k_on_observed_generation(k: int, expected: list[str]) -> None:
    """Observed generation <= k is readable; an unknown (None) generation never is."""
    selected = select(
        Policy(kind="max_generation", k=k), _generation_inbox(), None, 10, random.Random(0)
    )
    assert _ids(selected) == expected


def test_max_generation_samples_down_to_max_inputs() -> None:
    """Readable messages beyond max_inputs are sampled; unreadable ones never appear."""
    policy = Policy(kind="max_generation", k=2)
    for seed in range(30):
        chosen = _ids(select(policy, _generation_inbox(), None, 2, random.Random(seed)))
        assert len(chosen) == 2
        assert set(chosen) <= {"g0", "g1", "g2", "true3-judged-human"}


# --- anchor --------------------------------------------------------------------------------


def test_anchor_is_first_even_when_not_in_inbox() -> None:
    """The anchor comes first, then at most max_inputs - 1 inbox messages."""
    anchor = _delivery("anchor", origin="human", generation=0, sender="memory")
    inbox = _inbox(5)
    for seed in range(30):
        selected = select(Policy(kind="anchor"), inbox, anchor, 3, random.Random(seed))
        assert selected[0] is anchor
        assert len(selected) == 3
        assert all(d in inbox for d in selected[1:])


def test_anchor_in_inbox_is_not_read_twice() -> None:
    """An inbox copy of the anchor message is skipped; the anchor still comes first."""
    anchor = _delivery("m2", origin="human", generation=0, sender="memory")
    inbox = _inbox(3)
    selected = select(Policy(kind="anchor"), inbox, anchor, 5, random.Random(0))
    assert _ids(selected) == ["m2", "m0", "m1"]
    assert selected[0] is anchor


def test_anchor_with_one_input_reads_only_the_anchor() -> None:
    """max_inputs=1 leaves room for the anchor alone."""
    anchor = _delivery("anchor", origin="human", generation=0)
    assert select(Policy(kind="anchor"), _inbox(4), anchor, 1, random.Random(0)) == [anchor]


def test_anchor_with_empty_inbox_reads_the_anchor() -> None:
    """An agent with only its anchor still speaks."""
    anchor = _delivery("anchor", origin="human", generation=0)
    assert select(Policy(kind="anchor"), [], anchor, 3, random.Random(0)) == [anchor]


def test_anchor_without_anchor_behaves_like_all() -> None:
    """With no anchor the anchor policy draws exactly what all would draw."""
    inbox = _inbox(6)
    for seed in range(20):
        a = select(Policy(kind="anchor"), inbox, None, 3, random.Random(seed))
        b = select(Policy(kind="all"), inbox, None, 3, random.Random(seed))
        assert a == b
        assert len(a) == 3


# --- determinism and validation ------------------------------------------------------------


@pytest.mark.parametrize("kind", ["all", "latest", "human_only", "prefer_human", "anchor"])
def test_selection_is_deterministic_for_a_seed(kind: str) -> None:
    """The same rng seed gives the same selection for every policy."""
    inbox = [_delivery(f"m{i}", observed_origin="human" if i % 3 else "model") for i in range(8)]
    anchor = _delivery("anchor", origin="human", generation=0)
    for seed in range(10):
        a = select(Policy(kind=kind), inbox, anchor, 3, random.Random(seed))
        b = select(Policy(kind=kind), inbox, anchor, 3, random.Random(seed))
        assert a == b


# --- min_generation, human_share, share_weighted -------------------------------------------


def _travelled(
    message_id: str, min_generation: int | None, share: float | None, origin: str = "model"
) -> Delivery:
    """A model delivery whose tag carried the sender's min_generation and human share."""
    base = _delivery(message_id, origin=origin, generation=(min_generation or 0) + 2)
    observed = Observed(
        tagged=share is not None or min_generation is not None,
        origin=origin if min_generation is not None else "unknown",  # type: ignore[arg-type]
        generation=base.observed.generation if min_generation is not None else None,
        min_generation=min_generation,
        human_input_share=share,
    )
    return Delivery(base.sender, base.message, observed, base.received_round)


def _travelled_inbox() -> list[Delivery]:
    return [
        _travelled("human", 0, None, origin="human"),
        _travelled("near", 1, 0.5),
        _travelled("mid", 2, 0.0),
        _travelled("far", 4, 0.0),
        _travelled("lost", None, None),
    ]


@pytest.mark.parametrize(
    ("k", "expected"),
    [(0, ["human"]), (1, ["human", "near"]), (2, ["human", "near", "mid"])],
)
def test_min_generation_reads_observed_min_generation_up_to_k(k: int, expected: list[str]) -> None:
    """min_generation <= k is readable however long the longest path; unknown never is."""
    policy = Policy(kind="min_generation", k=k)
    assert _ids(select(policy, _travelled_inbox(), None, 10, random.Random(0))) == expected


def test_min_generation_with_nothing_readable_is_silent() -> None:
    """When no input has a known min_generation <= k the agent reads nothing."""
    inbox = [_travelled("far", 4, 0.0), _travelled("lost", None, None)]
    assert select(Policy(kind="min_generation", k=1), inbox, None, 3, random.Random(0)) == []


@pytest.mark.parametrize(
    ("min_share", "expected"),
    [(1.0, ["human"]), (0.5, ["human", "near"]), (0.0, ["human", "near", "mid", "far"])],
)
def test_human_share_reads_inputs_at_or_above_min_share(
    min_share: float, expected: list[str]
) -> None:
    """Observed human text counts as share 1; an unknown share is never read."""
    policy = Policy(kind="human_share", min_share=min_share)
    assert _ids(select(policy, _travelled_inbox(), None, 10, random.Random(0))) == expected


def test_share_weighted_prefers_inputs_with_a_higher_share() -> None:
    """With weight 3, an input of share 1 is drawn about 2**3 = 8 times as often as one of share
    0 (one input read from two); an unknown share counts as 0."""
    inbox = [_travelled("human", 0, None, origin="human"), _travelled("lost", None, None)]
    policy = Policy(kind="share_weighted", weight=3)
    picks = Counter(
        _ids(select(policy, inbox, None, 1, random.Random(seed)))[0] for seed in range(3000)
    )
    assert 6 < picks["human"] / picks["lost"] < 10.5


def test_share_weighted_reads_everything_within_the_limit() -> None:
    """Like prefer_human, share_weighted never leaves an agent silent."""
    inbox = _travelled_inbox()
    assert select(Policy(kind="share_weighted"), inbox, None, 5, random.Random(0)) == inbox


def test_min_generation_needs_k_and_min_share_is_a_share() -> None:
    """Policy min_generation needs k; min_share lies in [0, 1]."""
    with pytest.raises(ValidationError, match="min_generation needs k"):
        Policy(kind="min_generation")
    with pytest.raises(ValidationError):
        Policy(kind="human_share", min_share=1.5)


def test_unknown_policy_kind_raises() -> None:
    """A policy kind that bypassed validation is rejected by select()."""
    policy = Policy.model_construct(kind="bogus", weight=3.0, k=None)
    with pytest.raises(ValueError, match="unknown policy"):
        select(policy, _inbox(2), None, 3, random.Random(0))


def test_max_generation_without_k_is_invalid() -> None:
    """Policy max_generation needs k."""
    with pytest.raises(ValidationError, match="needs k"):
        Policy(kind="max_generation")
    with pytest.raises(ValidationError):
        Policy.model_validate("max_generation")


def test_policy_from_bare_name() -> None:
    """A bare string validates as a policy of that kind with default settings."""
    policy = Policy.model_validate("human_only")
    assert policy == Policy(kind="human_only")
    assert policy.weight == 3.0
    assert policy.k is None


def test_policy_field_validation() -> None:
    """k >= 0, weight > 0, known kinds and no extra fields are enforced."""
    assert Policy.model_validate({"kind": "max_generation", "k": 0}).k == 0
    for bad in (
        {"kind": "max_generation", "k": -1},
        {"kind": "prefer_human", "weight": 0},
        {"kind": "newest"},
        {"kind": "all", "extra": 1},
    ):
        with pytest.raises(ValidationError):
            Policy.model_validate(bad)
