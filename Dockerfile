# driftlab with the bundled offline model, and llama-cpp-python's OpenAI-compatible server for it
# (`python -m agents.local_server`). llama-cpp-python compiles during the build, with the
# portable flags of agents/llama_build.py (no native-CPU detection), so the image runs on any
# x86_64 CPU with AVX2 whatever CPU built it; the `local-server` extra adds only the server's
# Python packages to that build.
FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends build-essential cmake \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY constraints.txt ./
COPY scripts scripts
COPY agents/llama_build.py agents/llama_build.py
RUN DRIFTLAB_WHEEL_DIR=/tmp/wheels bash scripts/install-llama.sh python && rm -rf /tmp/wheels
COPY pyproject.toml README.md ./
COPY agents agents
COPY service service
COPY topologies topologies
COPY examples examples
RUN pip install --no-cache-dir -c constraints.txt '.[local,local-server]'
ENV DRIFTLAB_DATA_DIR=/data
ENTRYPOINT ["driftlab"]
CMD ["run", "examples/telephone-chain.yaml", "--rounds", "10", "--out", "/data/runs/demo"]
