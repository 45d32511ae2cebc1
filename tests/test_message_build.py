"""Building message records fast: the result must equal what validation builds."""

from __future__ import annotations

import pytest

from service.experiment.experiment import load
from service.experiment.spec import Fact
from service.measure.metrics import TextMeter, text_metrics
from service.provenance.message import Message, complete_message
from service.run.step import RunContext, human_step
from tests.conftest import spec_dict


def _fields(message: Message) -> dict[str, object]:
    return {name: getattr(message, name) for name in Message.model_fields}


def test_complete_message_equals_a_validated_message():
    """Same fields, same model, same JSON as `model_validate` gives for the dumped record."""
    experiment = load(spec_dict())
    ctx = RunContext("r", 0, experiment, {}, {}, {"h0": ["a1"]}, [])
    built = human_step(ctx, 0, "h0", experiment.spec.source.text).message
    validated = Message.model_validate_json(built.model_dump_json())
    assert built == validated
    assert built.model_dump_json() == validated.model_dump_json()
    assert complete_message(_fields(validated)) == validated


def test_complete_message_refuses_missing_or_unknown_fields():
    experiment = load(spec_dict())
    ctx = RunContext("r", 0, experiment, {}, {}, {"h0": ["a1"]}, [])
    fields = _fields(human_step(ctx, 0, "h0", "text").message)
    with pytest.raises(ValueError, match="cached"):
        complete_message({k: v for k, v in fields.items() if k != "cached"})
    with pytest.raises(ValueError, match="colour"):
        complete_message({**fields, "colour": "red"})


def test_text_meter_remembers_and_forgets():
    """A meter answers what text_metrics answers, and keeps at most `size` texts."""
    facts = [Fact(name="year", patterns=["1969"])]
    meter = TextMeter(facts, "It first flew in 1969 from Toulouse.", size=2)
    texts = ["Flew in 1969.", "It flew.", "A plane."]
    for text in texts:
        assert meter(text) == text_metrics(text, facts, "It first flew in 1969 from Toulouse.")
    assert meter(texts[2]) is meter(texts[2])
    assert len(meter._seen) == 2 and texts[0] not in meter._seen
