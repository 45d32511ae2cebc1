"""The experiment spec: the same schema for YAML files, the CLI and (later) HTTP bodies."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    ConfigDict,
    Field,
    JsonValue,
    ValidationInfo,
    field_validator,
    model_validator,
)

from agents.channel import Channel
from agents.endpoints import check_base_url
from agents.kinds import BackendKind, EmbedderKind
from agents.persona import Persona
from agents.personas import BUILTIN_PERSONAS
from agents.tasks import TaskName
from service.experiment.fact_context import in_one_sentence
from service.experiment.limits import (
    check_at_most,
    check_text,
    settings_of,
)
from service.experiment.patterns import FactPattern, PatternError, compile_fact_pattern
from service.experiment.run_ids import max_name_length
from service.experiment.strict import Strict
from service.experiment.topologies import NodeId, Topology

PolicyKind = Literal[
    "all",
    "latest",
    "human_only",
    "prefer_human",
    "max_generation",
    "min_generation",
    "human_share",
    "share_weighted",
    "anchor",
    "label",
]


def _at_least_one_or_all(value: int | str, info: ValidationInfo) -> int | str:
    if isinstance(value, int) and value < 1:
        raise ValueError(f"{info.field_name} must be at least 1 or 'all', got {value}")
    return value


SampleSize = Annotated[int | Literal["all"], AfterValidator(_at_least_one_or_all)]
"""How many items a sample takes: a whole number of at least 1, or `all`."""


class Fact(Strict):
    """A checkable fact: retained while any of its patterns matches (case-insensitive regex).

    With `whole_words` (the default) a match may not start or end inside a word, so `78`
    does not match `1978` and `LED` does not match `dovetailed`; a match that starts or ends
    with a non-word character (`-`, `.`, space) is free on that side.

    With `context`, a pattern counts only in a sentence that also has a context pattern at
    the start of a word (anywhere without whole_words): `1989` with context `automat`.
    """

    name: str = Field(min_length=1)
    patterns: list[str] = Field(min_length=1)
    whole_words: bool = True
    context: list[str] = Field(
        default_factory=list,
        description="case-insensitive regexes; one must match in the same sentence",
    )

    @model_validator(mode="after")
    def _compiles(self) -> Fact:
        for pattern in (*self.patterns, *self.context):
            try:
                fact_regexes((pattern,), self.whole_words)
            except PatternError as exc:
                raise ValueError(str(exc)) from None
        return self

    def matches(self, text: str) -> bool:
        """Whether any pattern still matches `text` (in a sentence with a context word, when
        the fact has context)."""
        patterns = fact_regexes(tuple(self.patterns), self.whole_words)
        if not self.context:
            return any(p.search(text) for p in patterns)
        context = fact_regexes(tuple(self.context), False)
        return in_one_sentence(text, patterns, context, word_start=self.whole_words)


def fact_regexes(patterns: tuple[str, ...], whole_words: bool) -> tuple[FactPattern, ...]:
    """The compiled patterns of a fact (RE2, bounded by word edges when whole_words)."""
    return tuple(compile_fact_pattern(p, whole_words) for p in patterns)


class Source(Strict):
    """The original human text and the facts it contains."""

    text: str = Field(min_length=1)
    facts: list[Fact] = Field(default_factory=list)

    @field_validator("text")
    @classmethod
    def _not_blank(cls, text: str, info: ValidationInfo) -> str:
        if not text.strip():
            raise ValueError("the source text is blank")
        return check_text(text, settings_of(info), "the source text")

    @model_validator(mode="after")
    def _facts_hold_in_source(self) -> Source:
        missing = [fact.name for fact in self.facts if not fact.matches(self.text)]
        if missing:
            raise ValueError(
                f"fact {', '.join(map(repr, missing))} does not match the source text itself "
                "(a fact the original lacks would count as lost from generation 0); fix its "
                "patterns (they match on word edges unless whole_words is false) or its "
                "context (a context word must start a word in the same sentence)"
            )
        return self


class Injection(Strict):
    """Fresh human text: each human source emits the next corpus text with this chance per
    round; with `reach`, the engine also hands fresh corpus texts to acting agents so that
    this share of the model messages reads a human text directly (docs/concepts.md)."""

    rate: float = Field(0.0, ge=0, le=1)
    reach: float | None = Field(
        None,
        ge=0,
        le=1,
        description="target share of model messages that read a human text directly",
    )


class Policy(Strict):
    """How an agent picks what to read from its inbox, on observed provenance only."""

    kind: PolicyKind = "all"
    weight: float = Field(
        3.0,
        gt=0,
        description="prefer_human: weight of observed-human texts; share_weighted: exponent",
    )
    k: int | None = Field(
        None, ge=0, description="max_generation, min_generation: highest generation read"
    )
    min_share: float = Field(
        0.5, ge=0, le=1, description="human_share: lowest observed human share read"
    )

    @model_validator(mode="before")
    @classmethod
    def _from_name(cls, value: object) -> object:
        return {"kind": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _k_for_generation_kinds(self) -> Policy:
        if self.kind in ("max_generation", "min_generation") and self.k is None:
            raise ValueError(f"policy {self.kind} needs k (the highest generation to read)")
        return self


class Detector(Strict):
    """Classifies untagged messages: tpr = P(flag AI | model text), fpr = P(flag AI | human)."""

    tpr: float = Field(0.9, ge=0, le=1)
    fpr: float = Field(0.05, ge=0, le=1)


class Provenance(Strict):
    """How imperfect the tags receivers observe are."""

    tag_loss: float = Field(0.0, ge=0, le=1)
    detector: Detector | None = None


class Judge(Strict):
    """The optional fact judge: a chat model asked, for a sample of messages, whether each
    fact is stated correctly and how many claims the original does not make."""

    backend: Literal["openai", "local"]
    model: str | None = Field(None, min_length=1)
    base_url: str | None = Field(None, min_length=1)
    api_key_env: str | None = Field(None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    sample: SampleSize = 20  # model messages judged per generation
    max_tokens: int = Field(300, ge=1)

    @field_validator("base_url")
    @classmethod
    def _no_credentials(cls, url: str | None) -> str | None:
        return url if url is None else check_base_url(url)


class LocalModel(Strict):
    """Settings of the in-process llama.cpp backend."""

    n_threads: int | None = Field(None, ge=1)
    n_ctx: int = Field(2048, ge=256)


class Calls(Strict):
    """How every LLM call is made: bounded in time, retried with backoff, replies checked."""

    timeout_s: float | None = Field(
        None,
        gt=0,
        description="seconds per call; null: the backend's default (openai 60, local 600)",
    )
    max_attempts: int = Field(5, ge=1, le=100, description="calls per step at most")
    backoff_s: float = Field(1.0, ge=0, description="longest wait after the first failure")
    max_backoff_s: float = Field(30.0, ge=0, description="longest wait between two calls")
    max_reply_chars: int = Field(20_000, ge=1, description="longer replies are cut and flagged")


class OnError(Strict):
    """What a step that still fails after its retries does to the run."""

    action: Literal["continue", "fail"] = Field(
        "continue", description="continue: the agent forwards nothing that round"
    )
    max_failed_share: float = Field(
        0.5,
        ge=0,
        le=1,
        description="continue: fail the run when a larger share of a round's steps failed",
    )

    @model_validator(mode="before")
    @classmethod
    def _from_name(cls, value: object) -> object:
        return {"action": value} if isinstance(value, str) else value


class Budget(Strict):
    """Per-run limits: the run ends `budget_exceeded` once one is reached."""

    max_calls: int | None = Field(None, ge=1, description="LLM calls, retries included")
    max_tokens: int | None = Field(None, ge=1, description="total tokens (prompt + completion)")


class Cache(Strict):
    """The response cache in Redis (off by default: replicates must not share answers)."""

    enabled: bool = False
    ttl_s: int = Field(7 * 24 * 3600, ge=1, description="seconds a cached completion is kept")

    @model_validator(mode="before")
    @classmethod
    def _from_bool(cls, value: object) -> object:
        return {"enabled": value} if isinstance(value, bool) else value


EXAMPLE_SPEC: dict[str, JsonValue] = {
    "name": "example",
    "backend": "synthetic",
    "embedder": "none",
    "source": {
        "text": "The bridge opened in 1932 and carried 4,000 cars a day.",
        "facts": [{"name": "opened", "patterns": ["1932"]}],
    },
    "topology": {"kind": "line", "n_agents": 3},
    "rounds": 2,
    "personas": ["editor", "tabloid"],
}
"""A small spec that runs in milliseconds (the example of the OpenAPI document)."""


class ExperimentSpec(Strict):
    """One experiment. Field names are stable: scripts and the HTTP API use them."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE_SPEC]})

    name: str = Field("experiment", min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    seed: int = 0
    graph_seed: int | None = None  # the graph's and the persona draw's; None: seed
    backend: BackendKind | None = None
    model: str | None = Field(None, min_length=1)
    base_url: str | None = Field(None, min_length=1)
    embedder: EmbedderKind | None = None
    embedder_model: str | None = None
    embed_sample: SampleSize = 200
    task: TaskName = "summarize"
    source: Source
    human_corpus: list[str] = Field(default_factory=list)
    topology: Topology
    personas: list[Persona] = Field(
        default_factory=lambda: [BUILTIN_PERSONAS["editor"]], min_length=1
    )
    assignment: Literal["round_robin", "random", "explicit"] = "round_robin"
    persona_map: dict[NodeId, str] = Field(default_factory=dict)
    rounds: int = Field(10, ge=1)
    max_inputs: int = Field(3, ge=1)
    turns_per_round: int | None = Field(
        None, ge=1, description="agents acting per round at most; longest waiting first"
    )
    max_tokens: int | None = Field(None, ge=1)
    concurrency: int = Field(16, ge=1)
    workers: int = Field(1, ge=1, le=64)  # processes running agent steps; 1: the engine's own
    distributed: bool = False  # steps queued in Redis for `driftlab worker` processes
    injection: Injection = Field(default_factory=Injection)
    policy: Policy = Field(default_factory=Policy)
    memory: Literal["consume", "keep_latest"] = "consume"  # how long a delivery stays readable
    matched: bool = False  # each text goes to one receiver and is read once (chain vs network)
    provenance: Provenance = Field(default_factory=Provenance)
    local: LocalModel = Field(default_factory=LocalModel)
    calls: Calls = Field(default_factory=Calls)
    on_error: OnError = Field(default_factory=OnError)
    budget: Budget = Field(default_factory=Budget)
    cache: Cache = Field(default_factory=Cache)
    judge: Judge | None = None  # off by default
    store_prompts: bool = True
    channel: Channel = Field(default_factory=Channel)  # the synthetic backend's assumptions

    @field_validator("matched")
    @classmethod
    def _matched_reads_once(cls, matched: bool, info: ValidationInfo) -> bool:
        if matched and info.data.get("memory", "consume") != "consume":
            raise ValueError("matched: true needs memory: consume (every text is read once)")
        return matched

    @field_validator("name")
    @classmethod
    def _name_fits_a_run_id(cls, name: str, info: ValidationInfo) -> str:
        longest = max_name_length(settings_of(info))
        if len(name) > longest:
            raise ValueError(
                f"at most {longest} characters (run ids start with the name), got {len(name)}"
            )
        return name

    @field_validator("base_url")
    @classmethod
    def _no_credentials(cls, url: str | None) -> str | None:
        return url if url is None else check_base_url(url)

    @model_validator(mode="after")
    def _one_way_to_run_steps(self) -> ExperimentSpec:
        if self.distributed and self.workers > 1:
            raise ValueError(
                "distributed: true runs steps in `driftlab worker` processes; it cannot be "
                f"combined with workers: {self.workers} (the process pool on this machine)"
            )
        return self

    @field_validator("rounds")
    @classmethod
    def _rounds_within_limit(cls, rounds: int, info: ValidationInfo) -> int:
        return check_at_most(rounds, settings_of(info).max_rounds, "max_rounds")

    @field_validator("persona_map")
    @classmethod
    def _nodes_as_strings(cls, persona_map: dict[NodeId, str]) -> dict[str, str]:
        return {str(node): name for node, name in persona_map.items()}

    @field_validator("personas", mode="before")
    @classmethod
    def _resolve_builtin_names(cls, personas: object) -> object:
        if not isinstance(personas, list):
            return personas
        unknown = [p for p in personas if isinstance(p, str) and p not in BUILTIN_PERSONAS]
        if unknown:
            raise ValueError(
                f"unknown persona {', '.join(map(repr, unknown))}; built-in personas are "
                f"{', '.join(BUILTIN_PERSONAS)} (or define one inline with name and system)"
            )
        return [BUILTIN_PERSONAS[p] if isinstance(p, str) else p for p in personas]

    @field_validator("personas")
    @classmethod
    def _distinct_and_within_limits(
        cls, personas: list[Persona], info: ValidationInfo
    ) -> list[Persona]:
        names = [p.name for p in personas]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(
                f"persona names must be distinct; {', '.join(map(repr, repeated))} "
                "given more than once"
            )
        settings = settings_of(info)
        for persona in personas:
            check_text(persona.system, settings, f"the system prompt of {persona.name!r}")
            check_text(persona.description, settings, f"the description of {persona.name!r}")
        return personas

    @field_validator("human_corpus")
    @classmethod
    def _no_blank_corpus_texts(cls, corpus: list[str], info: ValidationInfo) -> list[str]:
        blank = [i for i, text in enumerate(corpus) if not text.strip()]
        if blank:
            raise ValueError(f"human_corpus texts at positions {blank} are blank")
        settings = settings_of(info)
        for index, text in enumerate(corpus):
            check_text(text, settings, f"human_corpus text {index}")
        return corpus

    @model_validator(mode="after")
    def _channel_personas_known(self) -> ExperimentSpec:
        unknown = sorted(set(self.channel.personas) - set(self.persona_objects()))
        if unknown:
            raise ValueError(
                f"channel.personas names {', '.join(map(repr, unknown))}, not a persona of "
                f"this spec; its personas are {', '.join(self.persona_objects())}"
            )
        return self

    @property
    def structure_seed(self) -> int:
        """The seed of the graph and of random persona assignment: graph_seed, else seed."""
        return self.seed if self.graph_seed is None else self.graph_seed

    def persona_objects(self) -> dict[str, Persona]:
        """Every persona the spec can use, by name (built-ins named in persona_map included)."""
        resolved = {p.name: p for p in self.personas}
        for name in self.persona_map.values():
            if name in BUILTIN_PERSONAS:
                resolved.setdefault(name, BUILTIN_PERSONAS[name])
        return resolved
