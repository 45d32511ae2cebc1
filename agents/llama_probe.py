"""A two-token generation with llama.cpp, run as `python -m agents.llama_probe MODEL.gguf`.

Meant for a short-lived subprocess (see agents.llama_runtime): if the library uses instructions
the CPU cannot execute, this process dies, not the caller. On success it prints one JSON line:
the llama.cpp features compiled in.
"""

from __future__ import annotations

import json
import re
import sys


def compiled_features(system_info: str) -> list[str]:
    """The names llama.cpp's system info reports as `NAME = 1`."""
    return sorted(set(re.findall(r"([A-Z0-9_]+) = 1", system_info)))


def main(model_path: str) -> None:
    import llama_cpp

    features = compiled_features(llama_cpp.llama_print_system_info().decode())
    llama = llama_cpp.Llama(model_path=model_path, n_ctx=64, n_threads=1, verbose=False)
    llama.create_completion("The", max_tokens=2, temperature=0.0)
    llama.close()
    print(json.dumps({"features": features}))


if __name__ == "__main__":
    main(sys.argv[1])
