"""Tests for the pure export helpers: flattening, flat CSV / Parquet and the drift table."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from agents.backend import Usage
from service.measure.export import (
    DRIFT_COLUMNS,
    drift_rows,
    flatten,
    write_drift_csv,
    write_flat_csv,
    write_parquet,
)
from service.provenance.message import Message, Observed, TextMetrics


def _records() -> list[dict[str, Any]]:
    """A human text and one retelling, dumped as load_records() would shape them."""
    human = Message(
        id="r:0:0:h0",
        run="r",
        replicate=0,
        round=0,
        node="h0",
        agent=None,
        persona=None,
        backend="human",
        model=None,
        origin="human",
        generation=0,
        min_generation=0,
        parents=[],
        roots=["r:0:0:h0"],
        human_input_share=None,
        observed={"a1": Observed(tagged=True, origin="human", generation=0)},
        text="The car is red.",
        created_at="2024-01-01T00:00:00Z",
        drift=TextMetrics(
            length_words=4,
            unique_words=4,
            type_token_ratio=1.0,
            fact_retention=1.0,
            facts_retained=["colour"],
        ),
    )
    model = Message(
        id="r:0:1:a1",
        run="r",
        replicate=0,
        round=1,
        node="a1",
        agent="a1",
        persona="editor",
        backend="synthetic",
        model="synthetic",
        temperature=0.3,
        seed=17,
        origin="model",
        generation=1,
        min_generation=1,
        parents=["r:0:0:h0"],
        roots=["r:0:0:h0"],
        human_input_share=1.0,
        observed={
            "a2": Observed(tagged=False, origin="unknown"),
            "a3": Observed(tagged=True, origin="model", generation=1),
        },
        text="Le café est rouge.",
        usage=Usage(prompt_tokens=12, completion_tokens=5, total_tokens=17),
        latency_ms=1.5,
        finish_reason="stop",
        created_at="2024-01-01T00:00:01Z",
        drift=TextMetrics(
            length_words=4,
            unique_words=4,
            type_token_ratio=1.0,
            fact_retention=0.0,
            facts_retained=[],
        ),
    )
    records = [human.model_dump(mode="json"), model.model_dump(mode="json")]
    records[1]["drift"].update({"euclidean": 0.25, "cosine": 0.125})
    return records


# --- flatten -------------------------------------------------------------------------------


def test_flatten_by_hand() -> None:
    """Nested objects become dotted columns; lists and the observed map JSON strings."""
    record = {
        "id": "m1",
        "usage": {"total_tokens": 17, "prompt_tokens": 12},
        "observed": {"a1": {"origin": "human", "generation": 0}},
        "parents": ["x", "y"],
        "seed": None,
    }
    assert flatten(record) == {
        "id": "m1",
        "usage.total_tokens": 17,
        "usage.prompt_tokens": 12,
        "observed": '{"a1": {"origin": "human", "generation": 0}}',
        "parents": '["x", "y"]',
        "seed": None,
    }


def test_flatten_lists_keep_non_ascii_and_empty_lists() -> None:
    """Lists are JSON with non-ASCII text kept literally; an empty list is '[]'."""
    assert flatten({"a": ["café"], "b": [], "c": [{"k": 1}]}) == {
        "a": '["café"]',
        "b": "[]",
        "c": '[{"k": 1}]',
    }


def test_flatten_empty_dict_adds_no_column_and_prefix_applies() -> None:
    """An empty nested dict yields no column; a prefix is put before every name."""
    assert flatten({"usage": {}, "x": 1}) == {"x": 1}
    assert flatten({"observed": {}, "x": 1}) == {"observed": "{}", "x": 1}
    assert flatten({"x": 1, "y": {"z": 2}}, "p.") == {"p.x": 1, "p.y.z": 2}


def test_flatten_message_record_columns() -> None:
    """A dumped message gives usage.total_tokens, the observed map and roots as JSON."""
    flat = flatten(_records()[1])
    assert flat["usage.total_tokens"] == 17
    observed = json.loads(flat["observed"])
    assert observed["a2"] == {
        "tagged": False,
        "origin": "unknown",
        "generation": None,
        "min_generation": None,
        "human_input_share": None,
    }
    assert observed["a3"]["tagged"] is True
    assert flat["roots"] == '["r:0:0:h0"]'
    assert flat["drift.facts_retained"] == "[]"
    assert flat["drift.euclidean"] == 0.25
    assert not any(isinstance(v, dict | list) for v in flat.values())


# --- flat CSV and Parquet ------------------------------------------------------------------


def test_write_flat_csv_round_trip(tmp_path: Path) -> None:
    """The CSV has the union of columns in first-seen order; missing and None cells are empty."""
    records = _records()
    path = write_flat_csv(records, tmp_path / "messages.csv")
    assert path == tmp_path / "messages.csv"
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        header = list(reader.fieldnames or [])
        rows = list(reader)
    expected = list(dict.fromkeys([*flatten(records[0]), *flatten(records[1])]))
    assert header == expected
    assert header[:3] == ["id", "run", "replicate"]
    assert len(rows) == 2
    human, model = rows
    assert human["id"] == "r:0:0:h0"
    assert json.loads(human["observed"])["a1"]["origin"] == "human"
    assert "a2" not in json.loads(human["observed"])
    assert human["agent"] == ""
    assert human["drift.facts_retained"] == '["colour"]'
    assert human["drift.euclidean"] == ""
    assert model["text"] == "Le café est rouge."
    assert model["usage.total_tokens"] == "17"
    assert json.loads(model["observed"])["a3"]["tagged"] is True
    assert model["parents"] == '["r:0:0:h0"]'
    assert json.loads(model["roots"]) == ["r:0:0:h0"]
    assert float(model["drift.euclidean"]) == 0.25
    assert "a1" not in json.loads(model["observed"])


def test_write_parquet_round_trip(tmp_path: Path) -> None:
    """Parquet keeps column order and types; missing cells come back as nulls."""
    records = _records()
    path = write_parquet(records, tmp_path / "messages.parquet")
    table = pq.read_table(path)
    expected = list(dict.fromkeys([*flatten(records[0]), *flatten(records[1])]))
    assert table.column_names == expected
    assert table.num_rows == 2
    human, model = table.to_pylist()
    assert human["id"] == "r:0:0:h0"
    assert human["agent"] is None
    assert human["drift.euclidean"] is None
    assert "a3" not in json.loads(human["observed"])
    assert json.loads(human["observed"])["a1"]["generation"] == 0
    assert model["usage.total_tokens"] == 17
    assert model["latency_ms"] == 1.5
    assert model["drift.euclidean"] == 0.25
    assert model["drift.cosine"] == 0.125
    assert json.loads(model["observed"])["a3"]["tagged"] is True
    assert json.loads(model["observed"])["a2"]["origin"] == "unknown"
    assert model["text"] == "Le café est rouge."
    assert json.loads(model["parents"]) == ["r:0:0:h0"]


def test_flat_csv_and_parquet_agree(tmp_path: Path) -> None:
    """Both flat formats carry the same columns and the same text values."""
    records = _records()
    table = pq.read_table(write_parquet(records, tmp_path / "m.parquet"))
    with write_flat_csv(records, tmp_path / "m.csv").open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == table.column_names
    assert [r["text"] for r in rows] == table.column("text").to_pylist()


# --- drift table ---------------------------------------------------------------------------


def _drift_records() -> list[dict[str, Any]]:
    def record(generation: int, **drift: Any) -> dict[str, Any]:
        return {"generation": generation, "drift": {"facts_retained": [], **drift}}

    return [
        record(0, length_words=50, unique_words=40, type_token_ratio=0.8, fact_retention=1.0),
        record(
            1,
            length_words=30,
            unique_words=20,
            type_token_ratio=0.5,
            fact_retention=0.5,
            euclidean=0.4,
            cosine=0.2,
        ),
        record(1, length_words=20, unique_words=16, type_token_ratio=0.7, fact_retention=None),
        record(2, length_words=10, unique_words=10, type_token_ratio=1.0, fact_retention=0.0),
    ]


def test_drift_rows_means_per_generation() -> None:
    """drift_rows averages each metric per generation, skipping absent and None values."""
    rows = drift_rows(_drift_records())
    assert [r["generation"] for r in rows] == [0, 1, 2]
    assert [r["n"] for r in rows] == [1, 2, 1]
    gen1 = rows[1]
    assert gen1["length_words"] == 25
    assert gen1["unique_words"] == 18
    assert gen1["type_token_ratio"] == pytest.approx(0.6)
    assert gen1["fact_retention"] == 0.5
    assert gen1["euclidean"] == 0.4
    assert gen1["cosine"] == 0.2
    assert gen1["n_embedded"] == 1
    assert rows[0]["euclidean"] is None
    assert rows[0]["n_embedded"] == 0
    assert rows[2]["fact_retention"] == 0.0


def test_drift_rows_of_message_records() -> None:
    """Dumped messages with merged distances give one row per generation."""
    rows = drift_rows(_records())
    assert [(r["generation"], r["n"], r["n_embedded"]) for r in rows] == [(0, 1, 0), (1, 1, 1)]
    assert rows[1]["euclidean"] == 0.25
    assert rows[0]["fact_retention"] == 1.0


def test_drift_rows_of_no_records_is_empty() -> None:
    """No records, no rows."""
    assert drift_rows([]) == []


def test_write_drift_csv_header_order_and_values(tmp_path: Path) -> None:
    """drift.csv has the fixed column order and writes missing means as empty cells."""
    path = write_drift_csv(drift_rows(_drift_records()), tmp_path / "drift.csv")
    with path.open(newline="", encoding="utf-8") as handle:
        lines = list(csv.reader(handle))
    assert lines[0] == list(DRIFT_COLUMNS)
    assert lines[0] == [
        "generation",
        "n",
        "length_words",
        "unique_words",
        "type_token_ratio",
        "fact_retention",
        "euclidean",
        "cosine",
        "n_embedded",
        "judged_fact_retention",
        "invented_claims",
        "n_judged",
        "length_chars",
        "rare_word_retention",
        "entropy_ratio",
    ]
    assert len(lines) == 4
    assert lines[1] == [
        "0",
        "1",
        "50.0",
        "40.0",
        "0.8",
        "1.0",
        "",
        "",
        "0",
        "",
        "",
        "0",
        "",
        "",
        "",
    ]
    assert lines[2][:2] == ["1", "2"]
    assert lines[2][6:9] == ["0.4", "0.2", "1"]


def test_write_drift_csv_with_no_rows_writes_header_only(tmp_path: Path) -> None:
    """An empty table still produces a header line."""
    path = write_drift_csv([], tmp_path / "drift.csv")
    assert path.read_text(encoding="utf-8").splitlines() == [",".join(DRIFT_COLUMNS)]


def test_columns_do_not_grow_with_the_network() -> None:
    """Records with different receivers get one `observed` column, not one per receiver."""
    columns = [set(flatten(record)) for record in _records()]
    assert all("observed" in c and not any(n.startswith("observed.") for n in c) for c in columns)
    assert columns[0] - {"drift.euclidean", "drift.cosine"} == columns[1] - {
        "drift.euclidean",
        "drift.cosine",
    }
