"""Writing a round's records (service/run/record_writer.py): in chunks, stored on flush."""

from __future__ import annotations

from collections import defaultdict

from service.experiment.experiment import load
from service.provenance.store import WRITE_CHUNK
from service.run.record_writer import RecordWriter
from service.run.step import RunContext, Settled, human_step
from tests.conftest import spec_dict


def context(run_id: str) -> RunContext:
    """Human sources h0, h1, ... that nobody hears."""
    return RunContext(run_id, 0, load(spec_dict()), {}, {}, defaultdict(list), [])


async def test_records_are_stored_on_flush_and_in_full_chunks(store):
    ctx = context("w")
    writer = RecordWriter(store, "w")
    settled = [await writer.add(human_step(ctx, 0, f"h{i}", f"text {i}")) for i in range(5)]
    assert await store.count_messages("w") == 0
    await writer.flush()
    assert await store.count_messages("w") == 5
    assert all(isinstance(s, Settled) for s in settled)
    assert [s.carried.text for s in settled] == [f"text {i}" for i in range(5)]
    for i in range(5, 5 + WRITE_CHUNK):
        await writer.add(human_step(ctx, 0, f"h{i}", f"text {i}"))
    assert await store.count_messages("w") == 5 + WRITE_CHUNK  # a full chunk writes itself
    await writer.flush()
    assert await store.count_messages("w") == 5 + WRITE_CHUNK


async def test_a_stored_record_is_the_message(store):
    ctx = context("r")
    writer = RecordWriter(store, "r")
    emitted = human_step(ctx, 0, "h0", "the text")
    await writer.add(emitted)
    await writer.flush()
    assert await store.get_message("r", emitted.message.id) == emitted.message
