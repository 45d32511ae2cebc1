"""`driftlab calibrate`: retell source texts along chains on a chat model, fit the synthetic
channel to the curves, write the report and the fitted `channel:` block."""

from __future__ import annotations

import argparse
import json
from contextlib import aclosing
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from agents.channel import Channel
from agents.embedding import make_embedder
from agents.personas import BUILTIN_PERSONAS
from service.calibrate.curves import Chain, mean_curves, measured, read_chains, write_chains
from service.calibrate.distance import with_cosine
from service.calibrate.fit import (
    FITTED_METRICS,
    Candidate,
    FitSettings,
    curve_error,
    fit,
    fit_evaluations,
)
from service.calibrate.observe import ModelChoice, observe
from service.calibrate.report import Calibration, errors, write_report
from service.calibrate.simulate import simulate
from service.calibrate.sources import DEFAULT_SOURCES
from service.cli.console import err
from service.errors import BadInput
from service.experiment.settings import Settings
from service.experiment.spec import Source
from service.experiment.spec_file import read_spec_file
from service.lifecycle import RunHooks
from service.provenance.redis_conn import open_redis
from service.provenance.store import ProvenanceStore
from service.terminal.progress import Ticker

SHORTLIST = 5  # best candidates on retention and length, compared on embedding distance too


async def calibrate(args: argparse.Namespace) -> int:
    settings: Settings = args.settings
    personas = _personas(args.personas)
    sources = _sources(args.sources, settings) if args.sources else DEFAULT_SOURCES
    choice = ModelChoice(
        backend=args.backend,
        model=args.model,
        base_url=args.base_url,
        embedder=args.embedder,
        max_tokens=args.max_tokens,
        seed=args.seed,
        n_threads=args.threads,
    )
    notices: list[str] = []
    if args.observed is not None:
        real_chains = _observed(args.observed, args.generations)
    else:
        real_chains, notices = await _observe(args, sources, personas, choice, settings)
        write_chains(real_chains, args.out / "chains.csv")
    generations = args.generations
    real = mean_curves(real_chains, generations)
    persona_objects = [BUILTIN_PERSONAS[name] for name in personas]
    settings_fit = FitSettings(
        generations, args.replicates, args.seed, refine_evaluations=args.refine
    )
    print(f"fitting the channel to {len(real_chains)} chains ...", flush=True)
    with Ticker("fit", fit_evaluations(settings_fit), err, quiet=args.quiet) as ticker:
        candidates = fit(
            real_chains,
            sources,
            persona_objects,
            Channel(),
            settings_fit,
            ticker.counter("evaluations"),
        )
    legacy = Channel.model_validate(Channel.LEGACY)
    notes = list(dict.fromkeys(notices))
    if "cosine" in measured(real):
        best, curves, legacy_curves = await _by_distance(
            candidates[:SHORTLIST], legacy, real, sources, persona_objects, settings_fit, args
        )
        notes.append(
            f"fitted on fact retention and length; the best {SHORTLIST} fits were then ranked "
            "with the embedding distance too"
        )
    else:
        best = candidates[0]
        curves = _curves(best.channel, sources, persona_objects, settings_fit)
        legacy_curves = _curves(legacy, sources, persona_objects, settings_fit)
        notes.append(
            "embedding distance not measured (no embedder): fitted on retention and length"
        )
    calibration = Calibration(
        model=_model_name(choice),
        sources=list(sources),
        personas=personas,
        generations=generations,
        real=real,
        synthetic=curves,
        legacy=legacy_curves,
        channel=best.channel,
        notes=notes,
    )
    written = write_report(calibration, args.out)
    written.append(_write_channel(best.channel, args.out / "channel.yaml"))
    fitted = {name: getattr(best.channel, name) for name in Channel.LEGACY}
    print(json.dumps({"fitted": fitted, "rmse": errors(calibration, curves)}))
    for path in written:
        print(f"wrote {path}")
    return 0


async def _observe(
    args: argparse.Namespace,
    sources: dict[str, Source],
    personas: list[str],
    choice: ModelChoice,
    settings: Settings,
) -> tuple[list[Chain], list[str]]:
    connection = await open_redis(settings, announce=print)
    try:
        store = ProvenanceStore(connection.client, events_maxlen=settings.events_maxlen)
        rounds = len(sources) * args.generations
        with Ticker("chains", rounds, err, quiet=args.quiet) as ticker:
            count = ticker.counter("generations")
            hooks = RunHooks(round=lambda report: count(1))
            return await observe(
                store, sources, personas, args.generations, choice, settings, args.out, hooks
            )
    finally:
        await connection.aclose()


def _observed(path: Path, generations: int) -> list[Chain]:
    """Chains a previous calibration wrote (its chains.csv), checked to cover `generations`."""
    try:
        chains = read_chains(path)
    except (OSError, KeyError, ValueError) as exc:
        raise BadInput(
            f"--observed {path}: not a chains.csv of driftlab calibrate ({exc})"
        ) from None
    short = [c for c in chains if len(c.values["fact_retention"]) <= generations]
    if not chains or short:
        raise BadInput(f"--observed {path} has no chains of {generations} generations")
    return chains


def _personas(text: str) -> list[str]:
    chosen = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in BUILTIN_PERSONAS]
    if unknown or not chosen:
        raise BadInput(
            f"--personas must name built-in personas ({', '.join(BUILTIN_PERSONAS)}); got {text!r}"
        )
    return chosen


def _sources(path: Path, settings: Settings) -> dict[str, Source]:
    raw = read_spec_file(path, settings)
    sources = {}
    for name, block in raw.items():
        try:
            sources[str(name)] = Source.model_validate(block)
        except ValidationError as exc:
            problem = exc.errors()[0]
            where = ".".join(str(part) for part in (name, *problem["loc"]))
            raise BadInput(f"--sources {path}: {where}: {problem['msg']}") from None
    if not sources:
        raise BadInput(f"--sources {path} names no source")
    return sources


def _curves(
    channel: Channel,
    sources: dict[str, Source],
    personas: list[Any],
    settings: FitSettings,
) -> dict[str, Any]:
    chains, _ = simulate(
        channel, sources, personas, settings.generations, settings.replicates, settings.seed
    )
    return mean_curves(chains, settings.generations)


async def _by_distance(
    shortlist: list[Candidate],
    legacy: Channel,
    real: dict[str, Any],
    sources: dict[str, Source],
    personas: list[Any],
    settings: FitSettings,
    args: argparse.Namespace,
) -> tuple[Candidate, dict[str, Any], dict[str, Any]]:
    """The shortlisted candidate closest on every measured metric, its curves and the legacy
    channel's, all with embedding distance."""
    embedder = make_embedder(args.embedder, None)
    assert embedder is not None
    async with aclosing(embedder):

        async def curves(channel: Channel) -> dict[str, Any]:
            chains, texts = simulate(
                channel, sources, personas, settings.generations, settings.replicates, settings.seed
            )
            chains = await with_cosine(chains, texts, sources, embedder)
            return mean_curves(chains, settings.generations)

        metrics = (*FITTED_METRICS, "cosine")
        scored = []
        for candidate in shortlist:
            found = await curves(candidate.channel)
            scored.append((curve_error(real, found, metrics), candidate, found))
        scored.sort(key=lambda item: item[0])
        _, best, best_curves = scored[0]
        return best, best_curves, await curves(legacy)


def _model_name(choice: ModelChoice) -> str:
    if choice.model:
        return choice.model
    return {"local": "SmolLM2-135M-Instruct", "synthetic": "the synthetic channel"}.get(
        choice.backend, "the OpenAI-compatible model"
    )


def _write_channel(channel: Channel, path: Path) -> Path:
    """The fitted parameters as a spec's `channel:` block."""
    fitted = {name: getattr(channel, name) for name in Channel.LEGACY}
    path.write_text(yaml.safe_dump({"channel": fitted}, sort_keys=False), encoding="utf-8")
    return path
