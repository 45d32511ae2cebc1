"""The portable llama.cpp build: the one list of CMake flags the bundled model is built with.

An explicit, conservative x86-64 instruction set (AVX2, FMA, F16C; no AVX-512, no AMX) instead
of llama.cpp's native-CPU detection, so a wheel built on one machine runs on any x86_64 CPU with
AVX2, including CPUs that report AMX without the operating system granting it. Standard library
only: `scripts/install-llama.sh` runs this file before anything else is installed
(`python agents/llama_build.py` prints the flags).
"""

from __future__ import annotations

PORTABLE_CMAKE_ARGS = (
    "-DGGML_NATIVE=OFF",
    "-DGGML_SSE42=ON",
    "-DGGML_AVX=ON",
    "-DGGML_AVX2=ON",
    "-DGGML_BMI2=ON",
    "-DGGML_FMA=ON",
    "-DGGML_F16C=ON",
    "-DGGML_AVX_VNNI=OFF",
    "-DGGML_AVX512=OFF",
    "-DGGML_AMX_TILE=OFF",
    "-DGGML_AMX_INT8=OFF",
    "-DGGML_AMX_BF16=OFF",
)
# llama.cpp's system-info names of instruction-set extensions a portable build must not use.
NON_PORTABLE_FEATURES = frozenset(
    {"AVX512", "AVX512_VBMI", "AVX512_VNNI", "AVX512_BF16", "AMX_INT8", "AVX_VNNI"}
)


def rebuild_command(version: str) -> str:
    """The command that replaces an installed llama-cpp-python with the portable build."""
    return (
        f'CMAKE_ARGS="{" ".join(PORTABLE_CMAKE_ARGS)}" pip install --no-cache-dir '
        f"--force-reinstall --no-deps llama-cpp-python=={version}"
    )


if __name__ == "__main__":
    print(" ".join(PORTABLE_CMAKE_ARGS))
