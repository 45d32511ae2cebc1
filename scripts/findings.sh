#!/bin/sh
# Re-run the studies behind docs/findings.md on the synthetic backend, each on two source
# texts: its base spec's own text and examples/texts/tide-mill.yaml (a study that already has
# source_variants keeps its own texts). Writes studies/findings/NAME/ (summary.md,
# summary.json, runs.csv, ...). Completed runs are kept in Redis, so an interrupted call
# resumes. chain-vs-network also gets by_generation.md (topologies compared at equal
# generation as well as at the last round). Usage:
#   scripts/findings.sh                  # the studies findings.md reports, full grids
#   scripts/findings.sh human-injection chain-vs-network # a selection
#   scripts/findings.sh 'provenance-mitigation@policy=none/all,filter/human_only,label/label'
#                                    # a study with only these labels of one grid axis
# Environment: PYTHON (default python), PARALLEL (runs at once, default 2), and the Redis of
# DRIFTLAB_REDIS_URL as for any driftlab command.
set -eu
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python}
PARALLEL=${PARALLEL:-2}
[ "$#" -gt 0 ] || set -- chain-vs-network human-injection provenance-mitigation
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
    [ "$name" = chain-vs-network ] || continue
    # summary.md compares the topologies at the last round; this adds the comparison at equal
    # generation: each run's mean fact retention over its model messages of generation g,
    # paired by replicate with chains on the same text, Holm over the comparisons of one g.
    "$PYTHON" - "studies/findings/$name" <<'PY'
import sys
from pathlib import Path

import pandas as pd

from service.study.inference import ALPHA, holm, paired_test, replicates_needed


def shown(p: float) -> str:
    return "<0.001" if p < 0.001 else f"{p:.3f}"


out = Path(sys.argv[1])
messages = pd.read_parquet(
    out / "messages.parquet",
    columns=["replicate", "generation", "drift.fact_retention", "axis.topology", "axis.source"],
)
per_run = (
    messages[messages["generation"] >= 1]
    .groupby(["axis.source", "axis.topology", "generation", "replicate"])["drift.fact_retention"]
    .mean()
)
lines = [
    "# Fact retention at equal generation, paired with `chains` on the same text",
    "",
    "Each run's mean over its model messages of that generation; paired by replicate "
    "(runs that reached it); Holm over the comparisons of one generation.",
    "",
    "| generation | text | topology | pairs | difference [95% CI] | d_z | p | p (Holm) "
    "| supported | replicates for 80% power |",
    "|" + "---|" * 10,
]
for generation in (2, 4, 8):
    rows = []
    for source in per_run.index.unique("axis.source"):
        for topology in per_run.index.unique("axis.topology"):
            if topology == "chains":
                continue
            try:
                test = per_run.loc[(source, topology, generation)]
            except KeyError:
                continue
            base = per_run.loc[(source, "chains", generation)]
            shared = test.index.intersection(base.index)
            paired = paired_test(test[shared].tolist(), base[shared].tolist())
            if paired is not None:
                rows.append((source, topology, paired))
    adjusted = holm([paired.p for _, _, paired in rows])
    for (source, topology, paired), p_holm in zip(rows, adjusted, strict=True):
        needed = replicates_needed(paired.d_z, alpha=ALPHA / len(rows))
        lines.append(
            f"| {generation} | {source} | {topology} | {paired.n} | {paired.difference:+.3f} "
            f"[{paired.ci_low:+.3f}, {paired.ci_high:+.3f}] | {paired.d_z:+.2f} | "
            f"{shown(paired.p)} | {shown(p_holm)} | {'yes' if p_holm < ALPHA else 'no'} | "
            f"{needed if needed is not None else 'not detectable in any feasible n'} |"
        )
(out / "by_generation.md").write_text("\n".join(lines) + "\n")
print(f"  {out / 'by_generation.md'}")
PY
done
