"""The bundled model's llama.cpp is built portably, and a build that cannot run is refused."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from redis.asyncio import Redis

from agents.llama_build import PORTABLE_CMAKE_ARGS
from agents.llama_probe import compiled_features
from agents.llama_runtime import RuntimeCheck, check_runtime, installed_version, library_files
from tests.conftest import spec_dict, test_redis_url

ROOT = Path(__file__).resolve().parent.parent
AMX = re.compile(r"\b(tileloadd\w*|tdpb\w+|tdpfp16ps|tilezero|ldtilecfg|tilestored)\b")
AVX512 = re.compile(r"%zmm\d+|%k[1-7]\b")


def _cpu_library() -> Path:
    if installed_version() is None:
        pytest.skip("llama-cpp-python is not installed (the [local] extra)")
    if shutil.which("objdump") is None:
        pytest.skip("objdump is not installed (Debian package binutils)")
    cpu = [path for path in library_files() if "ggml-cpu" in path.name]
    assert cpu, f"no libggml-cpu among {library_files()}"
    return cpu[0]


def _disassembly(library: Path) -> str:
    done = subprocess.run(
        ["objdump", "-d", "--no-show-raw-insn", str(library)],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def non_portable_instructions(disassembly: str) -> dict[str, list[str]]:
    """AMX instructions and AVX-512 register uses found in objdump's output."""
    return {
        "AMX": sorted(set(AMX.findall(disassembly))),
        "AVX-512": sorted(set(AVX512.findall(disassembly))),
    }


def test_installed_cpu_library_has_no_amx_or_avx512_instructions():
    """The installed libggml-cpu holds no AMX tile and no AVX-512 instruction (a native build
    on an AMX or AVX-512 machine would, and would crash on other CPUs)."""
    code = _disassembly(_cpu_library())
    assert "vfmadd" in code, "the disassembly holds no AVX2/FMA code at all"
    assert non_portable_instructions(code) == {"AMX": [], "AVX-512": []}


def test_the_scan_finds_amx_and_avx512_in_machine_code(tmp_path):
    """The scan above is not blind: assembled AMX and AVX-512 instructions are found."""
    if shutil.which("as") is None or shutil.which("objdump") is None:
        pytest.skip("binutils (as, objdump) is not installed")
    source = tmp_path / "snippet.s"
    source.write_text(
        ".text\n"
        "tileloadd (%rax,%rbx,1), %tmm0\n"
        "tdpbssd %tmm1, %tmm2, %tmm3\n"
        "vaddps %zmm0, %zmm1, %zmm2\n"
        "vfmadd231ps %ymm0, %ymm1, %ymm2\n"
    )
    subprocess.run(["as", str(source), "-o", str(tmp_path / "snippet.o")], check=True)
    found = non_portable_instructions(_disassembly(tmp_path / "snippet.o"))
    assert found == {"AMX": ["tdpbssd", "tileloadd"], "AVX-512": ["%zmm0", "%zmm1", "%zmm2"]}


def test_portable_flags_switch_off_native_detection_and_amx():
    """The one flag list turns native detection, AVX-512 and every AMX option off."""
    flags = set(PORTABLE_CMAKE_ARGS)
    assert "-DGGML_NATIVE=OFF" in flags and "-DGGML_AVX2=ON" in flags
    for name in ("AVX512", "AMX_TILE", "AMX_INT8", "AMX_BF16"):
        assert f"-DGGML_{name}=OFF" in flags


def test_every_setup_path_installs_the_portable_build_first():
    """Makefile and Dockerfile install llama-cpp-python through the portable script before the
    package (whose [local] extra would otherwise take pip's cached wheel)."""
    makefile = (ROOT / "Makefile").read_text()
    assert "scripts/install-llama.sh" in makefile
    assert re.search(r"\$\(VENV\)/\.installed:.*\|\s*llama", makefile)
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert dockerfile.index("install-llama.sh") < dockerfile.index("'.[local")
    script = (ROOT / "scripts" / "install-llama.sh").read_text()
    assert "--no-cache-dir" in script and "--no-index" in script
    assert "llama_build.py" in script


def test_compiled_features_parse_llama_system_info():
    """Only the features reported as `= 1` count."""
    info = "CPU : SSE3 = 1 | AVX2 = 1 | AVX512 = 0 | AMX_INT8 = 1 | LLAMAFILE = 1 | "
    assert compiled_features(info) == ["AMX_INT8", "AVX2", "LLAMAFILE", "SSE3"]
    check = RuntimeCheck(True, "0.3", features=compiled_features(info))
    assert check.non_portable == ["AMX_INT8"]


def test_a_probe_killed_by_sigill_is_reported_with_its_cause(tmp_path):
    """A test generation that dies of SIGILL gives a verdict naming the instruction set."""
    if installed_version() is None:
        pytest.skip("llama-cpp-python is not installed (the [local] extra)")
    model = tmp_path / "model.gguf"
    model.write_bytes(b"GGUF")
    dies = [sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGILL)"]
    verdict = check_runtime(model, probe=dies)
    assert not verdict.runs
    assert "SIGILL" in verdict.problem and "AMX" in verdict.problem


@pytest.mark.local
def test_the_installed_build_runs_and_reports_portable_features():
    """The real probe generates with the bundled model; the build reports AVX2, no AMX."""
    from agents.local_chat import bundled_model_path

    verdict = check_runtime(bundled_model_path())
    assert verdict.runs, verdict.problem
    assert "AVX2" in verdict.features
    assert verdict.non_portable == []


@pytest.mark.local
async def test_run_refused_cleanly_when_llama_cpp_dies(tmp_path, redis: Redis):
    """A llama.cpp that dies of SIGILL: one clear line naming the cause and `make setup`,
    exit 1, no traceback, no core dump, nothing stored or written."""
    fake = tmp_path / "fake" / "llama_cpp"
    (fake / "lib").mkdir(parents=True)
    (fake / "__init__.py").write_text("import os, signal\nos.kill(os.getpid(), signal.SIGILL)\n")
    (fake / "lib" / "libggml-cpu.so").write_bytes(os.urandom(64))
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(json.dumps(spec_dict(backend="local", max_tokens=8)))
    out_dir = tmp_path / "out"
    env = {
        **os.environ,
        "PYTHONPATH": f"{tmp_path / 'fake'}{os.pathsep}{ROOT}",
        "DRIFTLAB_REDIS_URL": test_redis_url(),
    }
    done = subprocess.run(
        [sys.executable, "-m", "service.cli", "run", str(spec_file), "--out", str(out_dir)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert "SIGILL" in done.stderr and "make setup" in done.stderr
    assert not out_dir.exists()
    assert await redis.dbsize() == 0


@pytest.mark.local
def test_doctor_reports_every_check():
    """`driftlab doctor --json` reports Redis, the model, the build, the backends and the
    local model server."""
    env = {**os.environ, "DRIFTLAB_REDIS_URL": test_redis_url()}
    done = subprocess.run(
        [sys.executable, "-m", "service.cli", "doctor", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    findings = {f["check"]: f for f in map(json.loads, done.stdout.splitlines())}
    assert findings["redis"]["verdict"] == "ok"
    assert findings["llama.cpp runtime"]["verdict"] == "ok"
    assert findings["llama.cpp build"]["verdict"] == "ok"
    assert "AVX2" in findings["llama.cpp build"]["detail"]
    assert findings["backend local"]["verdict"] == "ok"
    assert findings["backend synthetic"]["verdict"] == "ok"
    assert findings["local model server"]["verdict"] == "ok"
