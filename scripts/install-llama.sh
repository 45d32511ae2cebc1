#!/usr/bin/env bash
# Install llama-cpp-python built portably, with the flags in agents/llama_build.py (AVX2, FMA,
# F16C; no AVX-512, no AMX) instead of llama.cpp's native-CPU detection, so the bundled model
# runs on any x86_64 CPU with AVX2, including those that report AMX without granting it.
#
# The wheel is built once into a directory named after the version, the Python ABI and a hash of
# the flags ($DRIFTLAB_WHEEL_DIR, default ~/.cache/driftlab/wheels, so clones share it) and is
# installed from there only, never from pip's wheel cache (which does not key on CMAKE_ARGS).
# A venv whose llama-cpp-python came from anywhere else is reinstalled.
# Usage: scripts/install-llama.sh PYTHON
set -euo pipefail
cd "$(dirname "$0")/.."
python=${1:-python3}

version=$(sed -n 's/^llama-cpp-python==//p' constraints.txt)
read -r -a flags <<<"$("$python" agents/llama_build.py)"
abi=$("$python" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')
flags_hash=$(printf '%s\n' "${flags[@]}" | sha256sum | cut -c1-12)
build_id="llama-cpp-python-${version}-${abi}-portable-avx2-${flags_hash}"
wheel_dir="${DRIFTLAB_WHEEL_DIR:-${HOME}/.cache/driftlab/wheels}/${build_id}"
stamp="$("$python" -c 'import sys; print(sys.prefix)')/.llama-build"

# The build id and a hash of the installed CPU library: a llama-cpp-python installed any other
# way (an older `make setup`, a plain `pip install`) does not match and is replaced.
installed() {
  "$python" - <<'PY'
import hashlib, importlib.util, pathlib
spec = importlib.util.find_spec("llama_cpp")
libs = sorted(pathlib.Path(spec.submodule_search_locations[0]).glob("lib/libggml-cpu*")) if spec else []
print(hashlib.sha256(b"".join(p.read_bytes() for p in libs)).hexdigest() if libs else "none")
PY
}
if [[ "$(cat "$stamp" 2>/dev/null)" == "${build_id} $(installed)" ]]; then
  exit 0
fi
if ! compgen -G "${wheel_dir}/*.whl" >/dev/null; then
  echo "building llama-cpp-python ${version} portably (about 10 minutes on 2 cores)" >&2
  rm -rf "${wheel_dir}.partial"
  mkdir -p "$(dirname "$wheel_dir")"
  CMAKE_ARGS="${flags[*]}" CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" \
    "$python" -m pip wheel --no-cache-dir --no-deps --no-binary llama-cpp-python \
    -w "${wheel_dir}.partial" "llama-cpp-python==${version}"
  mv "${wheel_dir}.partial" "$wheel_dir"
fi
"$python" -m pip install --no-deps --force-reinstall --no-index --find-links "$wheel_dir" \
  "llama-cpp-python==${version}"
echo "${build_id} $(installed)" >"$stamp"
