"""The spec's `channel:` block: the synthetic channel's parameters, where they act, and what a
study summary says depends on them."""

from __future__ import annotations

import random

import pytest

from agents.channel import Channel
from agents.personas import BUILTIN_PERSONAS, EDITOR, TABLOID
from agents.synthetic import retell
from service.errors import SpecError
from service.experiment.experiment import load
from service.measure.manifest import build_manifest
from service.provenance.message import Message
from service.provenance.store import ProvenanceStore
from service.run.engine import Engine
from service.study.channel_notes import channel_section, depends_on
from tests.conftest import spec_dict

MIXING = {"kind": "mixing", "graph": "small_world", "n_agents": 12, "k": 4, "p": 0.2}
SHORT = "The mill opened in 1870. It ground wheat for the village. Its owner was Ada Lund."


async def run(store: ProvenanceStore, run_id: str, **overrides) -> list[Message]:
    result = await Engine(load(spec_dict(**overrides)), store, run_id=run_id).run()
    assert result.status == "succeeded"
    return [m async for m in store.iter_messages(run_id)]


def test_overrides_and_scales_resolve_per_persona():
    """A persona override replaces its own value, the global label trust replaces every
    persona's, scales multiply (capped at 1) and the rest of the style is kept."""
    channel = Channel(
        personas={"editor": {"drop_rate": 0.5}},
        label_trust=0.0,
        drop_scale=3.0,
        target_scale=0.5,
    )
    editor = channel.style_of(EDITOR)
    assert editor.drop_rate == 1.0  # 0.5 x 3, capped
    assert editor.label_trust == 0.0
    assert editor.target_words == round(EDITOR.style.target_words * 0.5)
    assert editor.inventions == EDITOR.style.inventions
    tabloid = channel.style_of(TABLOID)
    assert tabloid.drop_rate == pytest.approx(min(1.0, TABLOID.style.drop_rate * 3))
    assert Channel().style_of(TABLOID).label_trust == TABLOID.style.label_trust


def test_bad_channel_fields_are_spec_errors_naming_them():
    """An unknown style field, a value out of range, or a persona the spec lacks is an error."""
    for channel, words in (
        ({"personas": {"editor": {"drop": 0.5}}}, "unknown style field drop"),
        ({"personas": {"editor": {"drop_rate": 2}}}, "less than or equal to 1"),
        ({"personas": {"scientist": {"drop_rate": 0.1}}}, "'scientist', not a persona"),
        ({"drop_scale": -1}, "greater than or equal to 0"),
        ({"salience": 0.2}, "unknown field"),
    ):
        with pytest.raises(SpecError) as caught:
            load(spec_dict(channel=channel))
        assert words in str(caught.value) or any(words in str(p) for p in caught.value.problems)


def test_settled_change_holds_a_text_at_its_target_length():
    """With settled_change 0 a text already under the persona's target keeps every clause
    (a plateau); with 1 (the channel before calibration) it keeps shrinking."""
    bare = {"invent": 0.0, "substitute": 0.0, "attraction": 0.0, "number_drift": 0.0}
    settled = Channel(personas={"tabloid": bare}, settled_change=0.0, target_scale=1.0)
    shrinking = Channel(personas={"tabloid": bare}, settled_change=1.0, target_scale=1.0)
    for seed in range(5):
        held, shrunk = SHORT, SHORT
        rng_held, rng_shrunk = random.Random(seed), random.Random(seed)
        for _ in range(10):
            held = retell([held], settled.style_of(TABLOID), rng_held, channel=settled)
            shrunk = retell([shrunk], shrinking.style_of(TABLOID), rng_shrunk, channel=shrinking)
        assert all(word in held for word in ("1870", "wheat", "Lund"))
        assert len(shrunk.split()) < len(held.split())


def test_salience_weights_decide_what_survives():
    """Weighting numbers fully protects a clause with a number; weighting nothing does not."""
    text = "The tower rose in 1807, and the workers slept on a ship, and the tide was low."
    keep_numbers = Channel(
        salience_number=1.0, salience_opening=0.0, drop_scale=2.0, settled_change=1.0
    )
    flat = keep_numbers.model_copy(update={"salience_number": 0.0})
    style = {"salience_protection": 1.0, "invent": 0.0, "attraction": 0.0, "substitute": 0.0}
    style["number_drift"] = 0.0
    kept = {"weighted": 0, "flat": 0}
    for seed in range(40):
        for label, channel in (("weighted", keep_numbers), ("flat", flat)):
            persona_channel = channel.model_copy(update={"personas": {"tabloid": style}})
            out = retell(
                [text], persona_channel.style_of(TABLOID), random.Random(seed), channel=channel
            )
            kept[label] += "1807" in out
    assert kept["weighted"] == 40
    assert kept["flat"] < 30


async def test_label_effect_vanishes_when_label_trust_is_zero(store):
    """`label` against `all` on the same network and seed: every text differs by design of
    the channel, and not at all once the channel gives labels no trust."""
    # Every text retold (none passed on as a fixed point), so that labels have texts to act on.
    common = {"topology": MIXING, "rounds": 5, "personas": ["scientist", "editor"]}
    retold = {"settled_change": 1.0}
    untrusted = {**retold, "label_trust": 0.0}
    plain = await run(store, "all", policy="all", channel=untrusted, **common)
    labelled = await run(store, "label", policy="label", channel=untrusted, **common)
    trusted = await run(store, "trusted", policy="label", channel=retold, **common)
    texts = {(m.round, m.node): m.text for m in plain}
    assert len(labelled) == len(plain) > 20
    assert all(texts[m.round, m.node] == m.text for m in labelled)
    assert sum(texts[m.round, m.node] != m.text for m in trusted) > len(trusted) // 2


async def test_manifest_records_the_channel_in_force(store):
    """A synthetic run's manifest lists the channel's rules and each persona's resolved style."""
    await run(store, "m", channel={"drop_scale": 0.5, "personas": {"tabloid": {"label_trust": 0}}})
    manifest = build_manifest(await store.get_run("m"))
    assert manifest["channel"]["rules"]["drop_scale"] == 0.5
    styles = manifest["channel"]["personas"]
    assert set(styles) == {"editor", "tabloid"}
    assert styles["tabloid"]["label_trust"] == 0
    assert styles["editor"]["drop_rate"] == pytest.approx(EDITOR.style.drop_rate * 0.5)
    assert manifest["spec"]["channel"]["drop_scale"] == 0.5


def test_study_section_names_what_each_difference_depends_on():
    """The summary section lists the parameters in force and ties `label` to label trust;
    it is empty when nothing ran on the synthetic channel."""
    experiments = [
        (kind, load(spec_dict(policy=kind, personas=list(BUILTIN_PERSONAS))))
        for kind in ("all", "label")
    ]
    axes = {"policy": {"all": "all", "label": "label"}, "channel.drop_scale": {"1": 1.0}}
    text = "\n".join(channel_section(experiments, axes))
    assert "label_trust" in text and "zero when every persona's label trust is 0" in text
    assert "`drop_scale` itself" in text
    assert "settled_change=" in text and "tabloid: label_trust 0.2" in text
    local = [("x", load(spec_dict(backend="null")))]
    assert channel_section(local, axes) == []
    assert "label_trust" not in depends_on("injection.rate", [0.0, 0.5])
