"""Run ids as typed: unique prefixes, `latest` and `latest~N`, ambiguity listing the
candidates; in the resolver, the CLI and the HTTP API; shortest unique prefixes for tables."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from service.api.app import create_app
from service.errors import RunNotFound
from service.provenance.out_dirs import remember_out_dir, resume_out_dir
from service.provenance.run_lookup import (
    AmbiguousRunId,
    resolve_run_id,
    shortest_unique_prefixes,
)
from tests.conftest import cli_process, cli_result, spec_dict
from tests.test_api import api_settings

IDS = ("alpha-20260101-aaaa", "alpha-20260101-abbb", "beta-20260102-cccc")


@pytest.fixture
async def stored(store):
    """Three stored run records, created in the order of IDS."""
    for run_id in IDS:
        await store.create_run(run_id, spec_dict())
    return store


async def test_full_id_and_unique_prefix_resolve(stored):
    assert await resolve_run_id(stored.redis, IDS[0]) == IDS[0]
    assert await resolve_run_id(stored.redis, "alpha-20260101-ab") == IDS[1]
    assert await resolve_run_id(stored.redis, "b") == IDS[2]


async def test_ambiguous_prefix_lists_the_candidates(stored):
    with pytest.raises(AmbiguousRunId) as caught:
        await resolve_run_id(stored.redis, "alpha")
    message = str(caught.value)
    assert IDS[0] in message and IDS[1] in message and IDS[2] not in message
    assert isinstance(caught.value, RunNotFound)


async def test_latest_and_latest_n_count_back_from_the_newest(stored):
    assert await resolve_run_id(stored.redis, "latest") == IDS[2]
    assert await resolve_run_id(stored.redis, "latest~0") == IDS[2]
    assert await resolve_run_id(stored.redis, "latest~2") == IDS[0]
    with pytest.raises(RunNotFound, match="3 runs are stored"):
        await resolve_run_id(stored.redis, "latest~3")
    assert await resolve_run_id(stored.redis, "latest", latest=False) == "latest"


async def test_unknown_text_is_left_for_the_callers_not_found(stored):
    assert await resolve_run_id(stored.redis, "zeta") == "zeta"


def test_shortest_unique_prefixes_end_at_word_ends():
    assert shortest_unique_prefixes(IDS, minimum=1) == [*IDS[:2], "beta"]
    assert shortest_unique_prefixes(IDS) == [*IDS[:2], "beta-20260102"]
    assert shortest_unique_prefixes(["ab", "abc"], minimum=1) == ["ab", "abc"]
    assert shortest_unique_prefixes(["cli-run"]) == ["cli-run"]
    generated = ["mix-20261203-081400-4a70e8", "mix-20261203-081401-77aa00"]
    assert shortest_unique_prefixes(generated) == ["mix-20261203-081400", "mix-20261203-081401"]


async def test_cli_takes_prefixes_and_latest(stored, tmp_path):
    """`driftlab delete` with an ambiguous prefix exits 2 naming both; `latest` and a unique
    prefix delete the runs they name."""
    code, _, err = await cli_result(await cli_process("delete", "alpha", cwd=tmp_path), 60)
    assert code == 2 and IDS[0] in err and IDS[1] in err
    code, out, err = await cli_result(await cli_process("delete", "latest", cwd=tmp_path), 60)
    assert code == 0, err
    assert f"deleted run {IDS[2]}" in out
    code, out, err = await cli_result(
        await cli_process("delete", "alpha-20260101-ab", cwd=tmp_path), 60
    )
    assert code == 0 and f"deleted run {IDS[1]}" in out


async def test_api_takes_unique_prefixes(aiohttp_client, stored, tmp_path):
    """GET /v1/runs/{prefix} answers the run; an ambiguous prefix is 404 naming candidates."""
    api: TestClient = await aiohttp_client(create_app(api_settings(tmp_path)))
    response = await api.get("/v1/runs/beta")
    assert response.status == 200
    assert (await response.json())["id"] == IDS[2]
    response = await api.get("/v1/runs/alpha")
    assert response.status == 404
    body = await response.json()
    assert IDS[0] in body["error"] and IDS[1] in body["error"]


async def test_resume_reuses_the_first_out_dir(store, tmp_path):
    """A run's first --out is remembered (a second start keeps it); resume uses it unless
    given another; deleting the run forgets it."""
    await remember_out_dir(store.redis, "r1", tmp_path / "first")
    await remember_out_dir(store.redis, "r1", tmp_path / "second")
    assert await resume_out_dir(store.redis, "r1", None) == (tmp_path / "first").absolute()
    assert await resume_out_dir(store.redis, "r1", tmp_path / "x") == tmp_path / "x"
    assert await resume_out_dir(store.redis, "r2", None) == Path("runs") / "r2"
    await store.create_run("r1", spec_dict())
    await store.delete_run("r1")
    assert await resume_out_dir(store.redis, "r1", None) == Path("runs") / "r1"
