# driftlab with the bundled offline model. llama-cpp-python compiles during the build.
FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends build-essential cmake \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml constraints.txt README.md ./
COPY agents agents
COPY service service
COPY topologies topologies
COPY examples examples
RUN pip install --no-cache-dir -c constraints.txt '.[local]'
ENV DRIFTLAB_DATA_DIR=/data
ENTRYPOINT ["driftlab"]
CMD ["run", "examples/telephone-chain.yaml", "--rounds", "10", "--out", "/data/runs/demo"]
