"""Two builds of llama-cpp-python on the same prompts and seeds, interleaved in one run.

Each wheel is unpacked into its own directory and used by a child process that puts it first
on its path and generates with the bundled model (a bare llama-cpp-python loop). One thread by
default: on a shared machine, OpenMP's spinning threads make multi-threaded figures swing by
more than the difference measured. Used to measure what the portable build costs against a
native one:

    python -m bench.llama_builds PORTABLE.whl NATIVE.whl [--rounds 3] [--max-tokens 128]
        [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from bench.common import SOURCE

PERSONA_PROMPTS = (
    "You are a careful newspaper editor.",
    "You are a tabloid writer who loves drama.",
    "You are a cautious scientist.",
)


def child(model: str, max_tokens: int, threads: int) -> None:
    """Generate from every prompt once; print completion tokens and seconds as JSON."""
    import llama_cpp

    llama = llama_cpp.Llama(model_path=model, n_ctx=2048, n_threads=threads, verbose=False)
    llama.create_completion("Warm-up", max_tokens=4)
    tokens, started = 0, time.perf_counter()
    for seed, system in enumerate(PERSONA_PROMPTS):
        response = llama.create_chat_completion(
            messages=[
                {"role": "system", "content": system},
                {"role": "user", "content": f"Summarize this text:\n\n{SOURCE}"},
            ],
            temperature=0.7,
            max_tokens=max_tokens,
            seed=seed,
        )
        tokens += response["usage"]["completion_tokens"]
    seconds = time.perf_counter() - started
    print(json.dumps({"tokens": tokens, "seconds": seconds, "llama": llama_cpp.__file__}))


def measure(unpacked: Path, model: str, max_tokens: int, threads: int) -> tuple[int, float]:
    env = {**os.environ, "PYTHONPATH": f"{unpacked}{os.pathsep}{os.getcwd()}"}
    command = ["-m", "bench.llama_builds", "--child", model, str(max_tokens), str(threads)]
    done = subprocess.run(
        [sys.executable, *command],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["llama"].startswith(str(unpacked)), report["llama"]
    return report["tokens"], report["seconds"]


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("wheels", nargs="+", type=Path, help="the first is the baseline")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    from agents.local_chat import bundled_model_path

    model = str(bundled_model_path())
    with tempfile.TemporaryDirectory() as scratch:
        unpacked = []
        for index, wheel in enumerate(args.wheels):
            target = Path(scratch) / str(index)
            zipfile.ZipFile(wheel).extractall(target)
            for library in (target / "llama_cpp" / "lib").glob("*.so*"):
                library.chmod(0o755)
            unpacked.append(target)
        totals = [[0, 0.0] for _ in args.wheels]
        for _ in range(args.rounds):  # interleaved: drift in machine load hits every build
            for index, target in enumerate(unpacked):
                tokens, seconds = measure(target, model, args.max_tokens, args.threads)
                totals[index][0] += tokens
                totals[index][1] += seconds
    rates = [tokens / seconds for tokens, seconds in totals]
    print(
        f"{len(PERSONA_PROMPTS)} prompts x {args.rounds} rounds, max_tokens {args.max_tokens}, "
        f"{args.threads} thread(s)"
    )
    for wheel, (tokens, _), rate in zip(args.wheels, totals, rates, strict=True):
        print(
            f"  {wheel.parent.name}: {rate:.1f} completion tokens/s ({tokens} tokens), "
            f"ratio to the first {rate / rates[0]:.3f}"
        )


if __name__ == "__main__":
    main()
