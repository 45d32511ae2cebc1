"""A small OpenAI-compatible server for tests and benchmarks: real HTTP, predictable answers.

POST /v1/chat/completions answers with the first words of the last input text, prefixed by
the model name (a fact judge's request, known by its system prompt, gets a rule-based
verdict); POST /v1/embeddings returns hashed bag-of-words vectors. Latency (and jitter) is
configurable, so tests can shuffle completion order and benchmarks can model a remote model.
Every request is kept in `app[REQUESTS]` for inspection, and `app[IN_FLIGHT]` counts the chat
calls in flight (now and at most). With a `FaultPlan` (agents.openai_faults) a share of chat
calls misbehave, each injected fault logged.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from hashlib import blake2b
from typing import Any

import numpy as np
from aiohttp import web

from agents.judge import JUDGE_SYSTEM, rule_verdict
from agents.openai_faults import FAULT_KINDS, FaultPlan, fault_response

REQUESTS = web.AppKey("requests", list)
LATENCY = web.AppKey("latency", tuple)
FAIL_STATUS = web.AppKey("fail_status", int)
FAULTS = web.AppKey("faults", FaultPlan)
EMBEDDING_DIM = 64
ANSWER_WORDS = 40
WORD = re.compile(r"\w+")


@dataclass
class InFlight:
    """Chat calls being answered now, and the most there ever were at once."""

    now: int = 0
    peak: int = 0

    @contextmanager
    def call(self) -> Iterator[None]:
        self.now += 1
        self.peak = max(self.peak, self.now)
        try:
            yield
        finally:
            self.now -= 1


IN_FLIGHT = web.AppKey("in_flight", InFlight)


def create_stub_app(
    latency_s: float = 0.0,
    jitter_s: float = 0.0,
    fail_status: int = 0,
    faults: FaultPlan | None = None,
) -> web.Application:
    """The stub server's app: `latency_s` plus up to `jitter_s` of random delay per call;
    with `fail_status`, every chat call is answered with that HTTP error instead; with
    `faults`, chat calls fail as the plan draws."""
    app = web.Application(client_max_size=16 * 2**20)
    app[REQUESTS] = []
    app[LATENCY] = (latency_s, jitter_s)
    app[FAIL_STATUS] = fail_status
    app[IN_FLIGHT] = InFlight()
    app[FAULTS] = faults or FaultPlan()
    app.router.add_post("/v1/chat/completions", _chat)
    app.router.add_post("/v1/embeddings", _embeddings)
    return app


async def _delay(request: web.Request, arrived: float) -> None:
    """Answer `latency` (plus jitter) after the request reached the handler: the stub's own
    parsing counts toward it, as a remote server's would."""
    latency, jitter = request.app[LATENCY]
    if latency or jitter:
        target = latency + random.uniform(0, jitter)
        await asyncio.sleep(max(0.0, target - (time.monotonic() - arrived)))


async def _chat(request: web.Request) -> web.StreamResponse:
    with request.app[IN_FLIGHT].call():
        return await _answer_chat(request)


async def _answer_chat(request: web.Request) -> web.StreamResponse:
    arrived = time.monotonic()
    body = await request.json()
    request.app[REQUESTS].append(body)
    messages = body.get("messages")
    if request.app[FAIL_STATUS]:
        return _error("the stub was told to fail", request.app[FAIL_STATUS])
    if not body.get("model") or not isinstance(messages, list) or not messages:
        return _error("model and messages are required", 400)
    fault = request.app[FAULTS].draw(body.get("seed"))
    await _delay(request, arrived)
    user = next((m["content"] for m in reversed(messages) if m.get("role") == "user"), "")
    system = next((m["content"] for m in messages if m.get("role") == "system"), "")
    if system == JUDGE_SYSTEM:
        text = rule_verdict(user)
    else:
        last_input = user.rsplit("\n\n", 1)[-1]
        text = f"{body['model']} retells: {' '.join(last_input.split()[:ANSWER_WORDS])}"
    prompt_tokens = sum(len(m.get("content", "").split()) for m in messages)
    completion_tokens = len(text.split())
    answer = _answer(request, body, text, prompt_tokens, completion_tokens)
    if fault is not None:
        return await fault_response(request.app[FAULTS], fault, answer)
    return web.json_response(answer)


def _answer(
    request: web.Request, body: dict, text: str, prompt_tokens: int, completion_tokens: int
) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{len(request.app[REQUESTS])}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body["model"],
        "system_fingerprint": "fp_stub",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def _error(message: str, status: int) -> web.Response:
    return web.json_response(
        {"error": {"message": message, "type": "invalid_request_error"}}, status=status
    )


async def _embeddings(request: web.Request) -> web.Response:
    arrived = time.monotonic()
    body = await request.json()
    request.app[REQUESTS].append(body)
    texts: Any = body.get("input")
    if isinstance(texts, str):
        texts = [texts]
    await _delay(request, arrived)
    data = [
        {"object": "embedding", "index": i, "embedding": hashed_vector(t).tolist()}
        for i, t in enumerate(texts)
    ]
    return web.json_response(
        {
            "object": "list",
            "data": data,
            "model": body.get("model"),
            "usage": {"prompt_tokens": 0, "total_tokens": 0},
        }
    )


def hashed_vector(text: str) -> np.ndarray:
    """A unit bag-of-words vector: texts sharing words point the same way."""
    vector = np.zeros(EMBEDDING_DIM)
    for word in WORD.findall(text.lower()):
        vector[
            int.from_bytes(blake2b(word.encode(), digest_size=4).digest(), "big") % EMBEDDING_DIM
        ] += 1.0
    norm = np.linalg.norm(vector)
    return vector / norm if norm else vector


def main(argv: list[str] | None = None) -> None:
    """Serve the stub: python -m agents.openai_stub --port 8400 --latency 0.05"""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8400)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per call")
    parser.add_argument("--jitter", type=float, default=0.0, help="extra random seconds")
    parser.add_argument("--fault-rate", type=float, default=0.0, help="share of failing calls")
    parser.add_argument(
        "--faults",
        default=",".join(FAULT_KINDS),
        help=f"comma-separated fault kinds from {', '.join(FAULT_KINDS)}",
    )
    parser.add_argument("--stall", type=float, default=5.0, help="seconds a stalled call waits")
    parser.add_argument("--retry-after", type=float, default=1.0, help="seconds asked on 429")
    args = parser.parse_args(argv)
    plan = FaultPlan(
        rate=args.fault_rate,
        kinds=tuple(k.strip() for k in args.faults.split(",") if k.strip()),
        stall_s=args.stall,
        retry_after_s=args.retry_after,
    )
    web.run_app(
        create_stub_app(args.latency, args.jitter, faults=plan),
        host=args.host,
        port=args.port,
        print=None,
        access_log=None,
    )


if __name__ == "__main__":
    main()
