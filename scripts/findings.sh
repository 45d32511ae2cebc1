#!/bin/sh
# Re-run the studies behind docs/findings.md on the synthetic backend, each on two source
# texts: its base spec's own text and examples/texts/tide-mill.yaml (a study that already has
# source_variants keeps its own texts). Writes studies/findings/NAME/ (summary.md,
# summary.json, runs.csv, ...). Completed runs are kept in Redis, so an interrupted call
# resumes. Usage:
#   scripts/findings.sh                                  # the studies findings.md reports
#   scripts/findings.sh human-injection chain-vs-network # a selection
#   scripts/findings.sh 'provenance-mitigation@policy=all,human_only,label'
#                                    # a study with only these labels of one grid axis
# Environment: PYTHON (default python), PARALLEL (runs at once, default 2), and the Redis of
# DRIFTLAB_REDIS_URL as for any driftlab command.
set -eu
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python}
PARALLEL=${PARALLEL:-2}
[ "$#" -gt 0 ] || set -- human-injection provenance-mitigation
mkdir -p studies/findings
for selection in "$@"; do
    name=${selection%%@*}
    derived="studies/findings/$name.yaml"
    "$PYTHON" - "examples/studies/$name.yaml" examples/texts/tide-mill.yaml "$derived" \
        "$selection" <<'PY'
import sys
from pathlib import Path

import yaml

study_path, text_path, out_path = (Path(p) for p in sys.argv[1:4])
study = yaml.safe_load(study_path.read_text())
if "@" in sys.argv[4]:
    axis, labels = sys.argv[4].split("@", 1)[1].split("=", 1)
    keep = labels.split(",")
    values = study["grid"][axis]
    if isinstance(values, dict):
        study["grid"][axis] = {k: v for k, v in values.items() if k in keep}
    else:
        study["grid"][axis] = [v for v in values if str(v) in keep]
if isinstance(study["base"], str):
    base_path = (study_path.parent / study["base"]).resolve()
    study["base"] = str(base_path)
    base = yaml.safe_load(base_path.read_text())
else:
    base = study["base"]
if not study.get("source_variants"):
    own = {"name": "concorde" if "Concorde" in base["source"]["text"] else "base", **base["source"]}
    own["human_corpus"] = base.get("human_corpus", [])
    study["source_variants"] = [own, yaml.safe_load(Path(text_path).read_text())]
study["name"] = f"{study['name']}-findings"
Path(out_path).write_text(yaml.safe_dump(study, sort_keys=False, allow_unicode=True))
PY
    "$PYTHON" -m service.cli study "$derived" --backend synthetic --parallel "$PARALLEL" \
        --out "studies/findings/$name"
done
