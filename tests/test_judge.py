"""The optional fact judge: its prompt and answer, and a run judged over real HTTP by the
OpenAI-compatible stub server (which answers a judge's request with a rule-based verdict)."""

from __future__ import annotations

import csv
import json

import pytest

from agents.judge import (
    JUDGE_SYSTEM,
    FactQuote,
    JudgeError,
    judge_prompt,
    parse_verdict,
    rule_verdict,
)
from agents.openai_stub import REQUESTS
from service.experiment.experiment import load
from service.experiment.settings import Settings
from service.lifecycle import run_spec
from service.measure.judging import fact_quotes
from service.study.outputs import write_outputs
from service.study.results import collect
from service.study.runner import prepare_runs, run_all
from service.study.spec import StudySpec, plan
from tests.conftest import FACTS, SOURCE_TEXT, spec_dict

QUOTES = [FactQuote("launch", "1962"), FactQuote("designer", "Maria Keller")]


def test_the_verdict_is_read_from_the_first_json_object_and_checked():
    answer = 'Here: {"facts": {"launch": "Correct", "designer": "wrong"}, "invented": 2} done'
    verdict = parse_verdict(answer, ["launch", "designer"])
    assert verdict.facts == {"launch": "correct", "designer": "wrong"}
    assert verdict.invented == 2 and verdict.correct_share == 0.5
    listed = parse_verdict('{"facts": {"launch": "missing"}, "invented": ["a", "b"]}', ["launch"])
    assert listed.invented == 2
    for bad in ("no json", '{"facts": {"launch": "maybe"}, "invented": 0}', '{"facts": {}}'):
        with pytest.raises(JudgeError):
            parse_verdict(bad, ["launch"])


def test_the_rule_based_verdict_tells_correct_wrong_missing_and_invented():
    """The stub's verdict: quote present is correct, part of it is wrong, none is missing; a
    sentence mostly of words the original lacks counts as invented."""
    retelling = (
        "The Aurora GT came out in 1962. Its designer was Maria Rossi. "
        "Pirates sailed happily across purple oceans."
    )
    verdict = parse_verdict(
        rule_verdict(judge_prompt(SOURCE_TEXT, QUOTES, retelling)), ["launch", "designer"]
    )
    assert verdict.facts == {"launch": "correct", "designer": "wrong"}
    assert verdict.invented == 1
    blank = parse_verdict(rule_verdict(judge_prompt(SOURCE_TEXT, QUOTES, "Nothing.")), ["launch"])
    assert blank.facts["launch"] == "missing"


def test_facts_are_quoted_as_the_original_states_them():
    spec = load(spec_dict()).spec
    assert [(q.name, q.quote) for q in fact_quotes(spec)] == [
        ("engine", "5.9-litre"),
        ("launch", "1962"),
        ("designer", "Keller"),
    ]
    assert len(FACTS) == 3


async def test_a_run_is_judged_over_http_beside_regex_retention(store, tmp_path, openai_endpoint):
    """Agents on the synthetic backend, the judge on the stub over loopback HTTP: every model
    message is judged, the verdicts land in the records and in drift.csv beside the regex
    retention, and a fact judged correct is one the regex keeps too."""
    server = await openai_endpoint()
    judge = {"backend": "openai", "model": "judge-model", "sample": "all"}
    done = await run_spec(
        load(spec_dict(rounds=4, judge=judge)), store, run_id="judged", out_dir=tmp_path
    )
    assert done.result.status == "succeeded"
    asked = [r for r in server.app[REQUESTS] if r["messages"][0]["content"] == JUDGE_SYSTEM]
    records = [json.loads(line) for line in (tmp_path / "messages.jsonl").read_text().splitlines()]
    model = [r for r in records if r["origin"] == "model"]
    assert len(asked) == len(model) == 3
    for record in model:
        drift = record["drift"]
        judged = drift["judged_facts"]
        assert set(judged) == {"engine", "launch", "designer"}
        correct = {name for name, verdict in judged.items() if verdict == "correct"}
        assert correct <= set(drift["facts_retained"])
        assert drift["judged_fact_retention"] == pytest.approx(len(correct) / 3)
        assert isinstance(drift["invented_claims"], int) and drift["invented_claims"] >= 0
    with (tmp_path / "drift.csv").open() as table:
        rows = list(csv.DictReader(table))
    assert all(int(r["n_judged"]) == int(r["n"]) for r in rows if r["generation"] != "0")
    assert "judged_fact_retention" in (tmp_path / "report.md").read_text()


async def test_the_judge_is_off_by_default_and_a_missing_key_is_a_notice(
    store, tmp_path, monkeypatch
):
    done = await run_spec(load(spec_dict(rounds=2)), store, run_id="plain", out_dir=tmp_path / "p")
    assert not await store.judgements("plain")
    assert done.views["drift"][1]["n_judged"] == 0
    monkeypatch.delenv("NO_SUCH_KEY", raising=False)
    judge = {"backend": "openai", "api_key_env": "NO_SUCH_KEY"}
    notices: list[str] = []
    from service.lifecycle import RunHooks

    done = await run_spec(
        load(spec_dict(rounds=2, judge=judge)),
        store,
        run_id="nokey",
        out_dir=tmp_path / "n",
        hooks=RunHooks(notice=notices.append),
    )
    assert done.result.status == "succeeded"
    assert any("fact judge skipped" in n and "NO_SUCH_KEY" in n for n in notices)


async def test_a_study_reports_judged_retention_beside_regex_retention(
    store, tmp_path, openai_endpoint
):
    """With a judge in the base spec, study.csv has a `judged_fact_retention` row beside each
    `fact_retention` row of model messages, over the same messages (sample `all`), and a
    judged share never exceeds the regex share (a fact judged correct is one the regex keeps)."""
    await openai_endpoint()
    judge = {"backend": "openai", "model": "judge-model", "sample": "all"}
    base = spec_dict(rounds=3, judge=judge)
    study = StudySpec(name="judged", base=base, grid={"injection.rate": [0]})
    prepared = prepare_runs(plan(study, base), Settings(), {})
    await run_all(prepared, store, tmp_path, parallel=1)
    write_outputs(study, await collect(store, prepared), tmp_path)
    with (tmp_path / "study.csv").open() as table:
        rows = [r for r in csv.DictReader(table) if r["by"] == "round"]
    regex = {r["step"]: r for r in rows if r["metric"] == "fact_retention"}
    judged = {r["step"]: r for r in rows if r["metric"] == "judged_fact_retention"}
    assert set(judged) == set(regex) == {"0", "1", "2"}
    for step, row in judged.items():
        assert row["n"] == regex[step]["n"]
        assert float(row["mean"]) <= float(regex[step]["mean"]) + 1e-9
