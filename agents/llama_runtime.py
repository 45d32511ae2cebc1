"""Does the installed llama.cpp run on this CPU? Checked once per install, in a subprocess.

A llama.cpp library compiled for instructions the CPU cannot execute (AMX or AVX-512 from a
native build on another machine, or on a CPU that reports AMX without the operating system
granting it) kills the process with SIGILL the first time it computes. So before the local
backend first loads a model, a short-lived subprocess (`python -m agents.llama_probe`) imports
llama.cpp, loads the model and generates two tokens. The verdict is remembered next to the
Python environment, keyed by the library files, the model file and the CPU, so later runs only
read it.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import importlib.util
import json
import signal
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

from agents.backend import BackendError
from agents.llama_build import NON_PORTABLE_FEATURES, rebuild_command

PROBE_TIMEOUT_S = 120.0
VERDICT_FILE = Path(sys.prefix) / ".driftlab-llama-check.json"


@dataclass(frozen=True)
class RuntimeCheck:
    """The probe's verdict on one install: does it run, and with which compiled features."""

    runs: bool
    version: str
    features: list[str] = field(default_factory=list)
    problem: str = ""

    @property
    def non_portable(self) -> list[str]:
        """Compiled-in instruction sets that other x86_64 CPUs may lack."""
        return sorted(NON_PORTABLE_FEATURES.intersection(self.features))


def installed_version() -> str | None:
    """The installed llama-cpp-python's version, found without importing it."""
    try:
        return importlib.metadata.version("llama-cpp-python")
    except importlib.metadata.PackageNotFoundError:
        return None


def library_files() -> list[Path]:
    """The native libraries llama-cpp-python ships (never imported here)."""
    spec = importlib.util.find_spec("llama_cpp")
    if spec is None or not spec.submodule_search_locations:
        return []
    package = Path(next(iter(spec.submodule_search_locations)))
    return sorted(p for p in (package / "lib").glob("*.so*") if p.is_file())


def check_runtime(model_path: Path, *, probe: list[str] | None = None) -> RuntimeCheck:
    """The verdict for this install, model and CPU: remembered, or probed now."""
    version = installed_version()
    if version is None:
        return RuntimeCheck(False, "", problem="llama-cpp-python is not installed")
    key = _install_key(model_path)
    remembered = _remembered(key)
    if remembered is not None:
        return remembered
    verdict = _probe(version, model_path, probe)
    _remember(key, verdict)
    return verdict


def ensure_runtime_runs(model_path: Path) -> None:
    """Raise a BackendError naming the cause and the rebuild command unless llama.cpp runs."""
    verdict = check_runtime(model_path)
    if not verdict.version:
        raise BackendError(
            "llama-cpp-python is not installed: run `make setup`, or pip install -e '.[local]'"
        )
    if not verdict.runs:
        version = verdict.version or "VERSION"
        raise BackendError(
            f"the local backend cannot run here: {verdict.problem}. Rebuild llama-cpp-python "
            f"portably with `make setup` in a clone of driftlab, or: {rebuild_command(version)}"
        )


def _probe(version: str, model_path: Path, probe: list[str] | None) -> RuntimeCheck:
    command = probe or [sys.executable, "-m", "agents.llama_probe", str(model_path)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=PROBE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        took = f"a test generation took over {PROBE_TIMEOUT_S:.0f} s"
        return RuntimeCheck(False, version, problem=took)
    if done.returncode < 0:
        name = signal.Signals(-done.returncode).name
        cause = (
            "the llama.cpp library was built for instructions this CPU cannot execute "
            "(typically a native build using AMX or AVX-512)"
            if name == "SIGILL"
            else "the llama.cpp library crashed"
        )
        return RuntimeCheck(False, version, problem=f"a test generation died with {name}: {cause}")
    if done.returncode != 0:
        last_line = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return RuntimeCheck(False, version, problem=f"a test generation failed: {last_line}")
    try:
        report = json.loads(done.stdout.strip().splitlines()[-1])
    except (json.JSONDecodeError, IndexError):
        return RuntimeCheck(False, version, problem="the test generation printed no report")
    return RuntimeCheck(True, version, features=list(report.get("features", [])))


def _install_key(model_path: Path) -> str:
    parts = [sys.executable, installed_version() or ""]
    for path in [*library_files(), model_path]:
        stat = path.stat()
        parts.append(f"{path}:{stat.st_size}:{stat.st_mtime_ns}")
    parts.append(_cpu_flags())
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _cpu_flags() -> str:
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
    except OSError:
        return ""
    return next((line for line in cpuinfo.splitlines() if line.startswith("flags")), "")


def _remembered(key: str) -> RuntimeCheck | None:
    try:
        stored = json.loads(VERDICT_FILE.read_text())
        return RuntimeCheck(**stored["verdict"]) if stored.get("key") == key else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _remember(key: str, verdict: RuntimeCheck) -> None:
    with contextlib.suppress(OSError):  # a read-only environment probes again next time
        VERDICT_FILE.write_text(json.dumps({"key": key, "verdict": asdict(verdict)}))
