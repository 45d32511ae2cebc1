"""Raw request bodies from Hypothesis against the routes that read one, on a real server on
loopback: whatever the bytes (broken, deep, huge numbers, duplicate keys, wrong types), the
answer is a 4xx JSON error or a success, never a 5xx."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.api import create_app
from tests.conftest import spec_dict
from tests.test_api import JSON, api_settings

BODY_ROUTES = ("/v1/runs", "/v1/studies", "/v1/topologies/preview")
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=20),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


def spec_like(change: dict[str, object]) -> bytes:
    return json.dumps({**spec_dict(rounds=1), **change}).encode()


def nested(depth: int) -> bytes:
    return ("[" * depth + "]" * depth).encode()


RAW_BODIES = st.one_of(
    st.binary(max_size=200),
    VALUES.map(lambda value: json.dumps(value).encode()),
    st.dictionaries(st.sampled_from(["rounds", "seed", "topology", "source", "name"]), VALUES).map(
        spec_like
    ),
    st.integers(1, 3000).map(nested),
    st.integers(1, 6000).map(lambda n: f'{{"rounds": {"9" * n}}}'.encode()),
    st.sampled_from(["rounds", "seed", "name"]).map(lambda k: f'{{"{k}": 1, "{k}": 2}}'.encode()),
)


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=RAW_BODIES, route=st.sampled_from(BODY_ROUTES))
async def test_no_raw_body_gets_a_server_error(aiohttp_client, redis, tmp_path, body, route):
    """A 4xx JSON error (or a success), never a 5xx, whatever the body."""
    app = create_app(
        api_settings(tmp_path, allowed_backends=frozenset({"synthetic"}), max_concurrent_runs=1)
    )
    api = await aiohttp_client(app)
    response = await api.post(route, data=body, headers=JSON)
    assert response.status < 500, (route, body[:200], await response.text())
    assert response.content_type == "application/json"
    if response.status >= 400:
        assert (await response.json())["error"]
