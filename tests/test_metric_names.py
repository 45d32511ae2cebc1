"""An unknown metric name in a study is a spec error naming the valid ones: exit 2 from the
CLI, 422 from the HTTP API, nothing run."""

from __future__ import annotations

from typing import Any

import yaml

from tests.test_api import api
from tests.test_api_studies import study_dict
from tests.test_cli import driftlab
from tests.test_study import BASE

__all__ = ["api"]  # the fixture, imported for the tests below

MISSPELT = {"metrics": ["rouge"], "outcome": "facts", "attractor_metrics": ["length"]}
EXPECTED = {
    "metrics.0": "unknown name 'rouge'; expected 'rouge_l' or 'chrf'",
    "outcome": "unknown name 'facts'; expected 'fact_retention', 'rare_word_retention'",
    "attractor_metrics.0": (
        "unknown name 'length'; expected 'length_words', 'unique_words', 'type_token_ratio' "
        "or 'length_chars'"
    ),
}


def _problems(body: dict[str, Any]) -> dict[str, str]:
    return {p["field"]: p["message"] for p in body["problems"]}


async def test_unknown_metric_names_exit_2_naming_the_valid_ones(tmp_path, redis):
    """Misspelt names in `metrics`, `outcome` and `attractor_metrics` are all reported at
    once, each with the names it accepts; nothing is run or stored."""
    study = {"name": "s", "base": str(BASE), "grid": {"injection.rate": [0]}, **MISSPELT}
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(study))
    result = driftlab("study", str(path), cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    for field, message in EXPECTED.items():
        assert f"{field}: {message}" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "studies").exists()
    assert await redis.dbsize() == 0


async def test_unknown_metric_names_are_422_naming_the_valid_ones(api, redis):
    """The same study posted over HTTP is refused with 422, one problem per field."""
    response = await api.post("/v1/studies", json=study_dict(**MISSPELT))
    assert response.status == 422, await response.text()
    problems = _problems(await response.json())
    for field, message in EXPECTED.items():
        assert problems[field].startswith(message), problems
    assert await redis.dbsize() == 0
