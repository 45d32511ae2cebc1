"""driftlab analyze: stored runs and exported files re-scored offline, as a user runs it."""

from __future__ import annotations

import csv
import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from service.measure.analyze import Original, embed_all, rescore
from service.measure.diversity import mean_pairwise_cosine
from service.measure.metrics import cosine_distance
from tests.test_cli import driftlab, write_spec


def _records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _mixing(tmp_path: Path) -> Path:
    topology = {"kind": "mixing", "graph": "small_world", "n_agents": 12, "k": 4}
    return write_spec(tmp_path / "spec.yaml", topology=topology, rounds=4)


async def test_analyze_a_stored_run_with_overlap_metrics(tmp_path, redis):
    """A stored run gains ROUGE-L and chrF in 0..1, and the same tail metrics as the engine
    wrote; the by-round table has a row per round with model messages."""
    assert driftlab("run", str(_mixing(tmp_path)), "--run-id", "a1", cwd=tmp_path).returncode == 0
    result = driftlab("analyze", "a1", "--metrics", "text,rouge_l,chrf", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = tmp_path / "runs" / "a1" / "analysis"
    by_round = _rows(out / "by_round.csv")
    assert [int(r["round"]) for r in by_round] == [0, 1, 2, 3]
    assert all(0 < float(r["rouge_l"]) <= 1 and 0 < float(r["chrf"]) <= 1 for r in by_round)
    stored = _records(tmp_path / "runs/a1/messages.jsonl")
    rescored = _records(out / "messages.jsonl")
    assert [r["id"] for r in rescored] == [r["id"] for r in stored]
    for before, after in zip(stored, rescored, strict=True):
        for name in ("length_words", "fact_retention", "rare_word_retention", "entropy_ratio"):
            assert after["drift"][name] == pytest.approx(before["drift"][name])
    human = next(r for r in rescored if r["origin"] == "human")
    assert human["drift"]["rouge_l"] == pytest.approx(1.0)


async def test_analyze_an_exported_file_matches_the_stored_run(tmp_path, redis):
    """The exported directory (with its manifest) gives the same tables as the run in Redis;
    a bare messages.jsonl without manifest takes the round-0 human text as the original."""
    assert driftlab("run", str(_mixing(tmp_path)), "--run-id", "a2", cwd=tmp_path).returncode == 0
    assert driftlab("analyze", "a2", "--out", "from-redis", cwd=tmp_path).returncode == 0
    exported = tmp_path / "runs" / "a2"
    assert driftlab("analyze", str(exported), "--out", "from-dir", cwd=tmp_path).returncode == 0
    assert _rows(tmp_path / "from-redis/by_generation.csv") == _rows(
        tmp_path / "from-dir/by_generation.csv"
    )
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "messages.jsonl").write_text((exported / "messages.jsonl").read_text())
    assert driftlab("analyze", str(bare / "messages.jsonl"), cwd=tmp_path).returncode == 0
    rows = _rows(bare / "analysis" / "by_round.csv")
    assert rows and all(r["rare_word_retention"] for r in rows)


async def test_analyze_bad_targets_exit_2(tmp_path, redis):
    """An unknown run, a file that is not JSON lines and an unknown metric get one message
    and exit code 2."""
    missing = driftlab("analyze", "no-such-run", cwd=tmp_path)
    assert missing.returncode == 2 and "no run 'no-such-run'" in missing.stderr
    broken = tmp_path / "broken.jsonl"
    broken.write_text("{not json\n")
    bad = driftlab("analyze", str(broken), cwd=tmp_path)
    assert bad.returncode == 2 and "not a JSON line" in bad.stderr
    assert "Traceback" not in bad.stderr
    metric = driftlab("analyze", "x", "--metrics", "bleu", cwd=tmp_path)
    assert metric.returncode == 2 and "metrics must come from" in metric.stderr


class BagOfWords:
    """A small real embedder: counts of a fixed vocabulary (deterministic, no model)."""

    VOCABULARY = ("lamp", "keeper", "storm", "ship", "light", "sea")

    async def embed(self, texts: list[str]) -> np.ndarray:
        return np.array(
            [[t.lower().split().count(w) for w in self.VOCABULARY] for t in texts], dtype=float
        )

    async def aclose(self) -> None:
        return None


async def test_embed_all_distances_to_parents_and_diversity() -> None:
    """Each message's parent distance is the mean over its parents; diversity per round
    equals the mean cosine distance over all pairs of that round's messages."""
    original = Original("lamp keeper storm", [])
    records = [
        {"id": "h", "origin": "human", "round": 0, "text": "lamp keeper storm", "parents": []},
        {"id": "a", "origin": "model", "round": 1, "text": "lamp lamp sea", "parents": ["h"]},
        {"id": "b", "origin": "model", "round": 1, "text": "ship sea", "parents": ["h"]},
        {"id": "c", "origin": "model", "round": 1, "text": "storm light", "parents": ["h"]},
        {"id": "d", "origin": "model", "round": 2, "text": "sea", "parents": ["a", "b"]},
    ]
    rescore(records, original, ["text"])
    diversity = await embed_all(records, original, BagOfWords())
    vec = await BagOfWords().embed([r["text"] for r in records])
    expected = np.mean([cosine_distance(vec[4], vec[1]), cosine_distance(vec[4], vec[2])])
    assert records[4]["drift"]["cosine_parents"] == pytest.approx(float(expected))
    assert "cosine_parents" not in records[0]["drift"]
    pairs = [cosine_distance(x, y) for x, y in itertools.combinations(vec[1:4], 2)]
    assert diversity[1]["diversity_cosine"] == pytest.approx(float(np.mean(pairs)))
    assert diversity[1]["diversity_cosine"] == pytest.approx(mean_pairwise_cosine(vec[1:4]))
    assert diversity[2]["diversity_cosine"] == 0.0
    assert records[0]["drift"]["euclidean"] == pytest.approx(0.0)


@pytest.mark.local
async def test_analyze_with_the_bundled_embedder(tmp_path, redis):
    """The local MiniLM embedder gives distances to the original and diversity per round."""
    assert driftlab("run", str(_mixing(tmp_path)), "--run-id", "a3", cwd=tmp_path).returncode == 0
    result = driftlab("analyze", "a3", "--embedder", "local", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rows = _rows(tmp_path / "runs/a3/analysis/by_round.csv")
    assert all(0 < float(r["cosine"]) < 1 for r in rows)
    assert all(float(r["diversity_cosine"]) > 0 for r in rows if int(r["n"]) > 1)
