"""Tests for the synthetic retelling channel, its backend and the built-in personas."""

from __future__ import annotations

import random
import re
import statistics

import pytest
from pydantic import ValidationError

from agents import synthetic
from agents.agent import Agent
from agents.backend import Completion
from agents.channel import Channel
from agents.persona import Persona, RetellingStyle
from agents.personas import BUILTIN_PERSONAS
from agents.reading import distrust
from agents.synthetic import SyntheticBackend
from agents.tasks import InputText
from service.experiment.spec import Fact
from service.measure.metrics import facts_retained

SOURCE = (
    "The Aurora GT was launched in 1962 with a 5.9-litre V12 engine, producing about 320 "
    "horsepower. Only 1,240 cars were built, and a fire at the factory in 1964 destroyed the "
    "tooling. Designer Maria Keller later said the car was her favourite, and some collectors "
    "now pay roughly 2 million euros for one."
)
LONG_SOURCE = SOURCE + (
    " The body was shaped in a small workshop near the river, and the paint was mixed by hand."
    " The seats were covered in soft leather, and the dashboard was made of polished wood."
    " Owners liked the quiet ride, the smooth gearbox and the large boot."
    " Most cars were sold in the north, where the roads were long and straight."
)
FACTS = [
    Fact(name="engine", patterns=[r"5\.9.litre", "V12"]),
    Fact(name="launch", patterns=["1962"]),
    Fact(name="designer", patterns=["Keller"]),
]
# These tests check the steps of one retelling. The calibrated channel passes a text at or
# under its target length on unchanged with chance 1 - settled_change (tests/test_channel.py
# checks that), so here every text is retold, as by the channel before calibration.
RETOLD = Channel(settled_change=1.0)


def retell(
    inputs: list[str],
    style: RetellingStyle,
    rng: random.Random,
    task: str = "summarize",
    labels: tuple[str | None, ...] = (),
) -> str:
    return synthetic.retell(inputs, style, rng, task, labels, RETOLD)


# Verbatim: no clause dropped, no number or qualifier touched, no colouring, nothing added.
VERBATIM = RetellingStyle(drop_rate=0, number_drift=0, qualifier_loss=0)
# What a built-in persona needs switched off to test one of its older rates alone.
WITHOUT_ADDITIONS = {"invent": 0.0, "substitute": 0.0, "attraction": 0.0}
LETTERS = re.compile(r"[A-Za-z]+")
QUALIFIER_WORDS = {
    "about",
    "approximately",
    "roughly",
    "nearly",
    "around",
    "almost",
    "some",
    "possibly",
    "perhaps",
    "probably",
}


def _persona(style: RetellingStyle, system: str = "You retell texts.") -> Persona:
    return Persona(name="custom", system=system, style=style)


async def _complete(persona: Persona, texts: list[str], seed: int | None) -> Completion:
    agent = Agent(persona, SyntheticBackend(), "summarize")
    request = agent.request([InputText(t) for t in texts], seed=seed)
    return await agent.backend.complete(request)


async def _chain(persona: Persona, text: str, steps: int, seed: int) -> str:
    for step in range(steps):
        text = (await _complete(persona, [text], seed=seed * 1000 + step)).text
    return text


# --- determinism ---------------------------------------------------------------------------


async def test_backend_same_seed_gives_identical_text() -> None:
    """Two requests with the same seed produce exactly the same retelling."""
    persona = BUILTIN_PERSONAS["tabloid"]
    for seed in range(5):
        first = await _complete(persona, [SOURCE], seed=seed)
        second = await _complete(persona, [SOURCE], seed=seed)
        assert first.text == second.text


def test_retell_same_seed_gives_identical_text() -> None:
    """retell() draws only from its rng: equal seeds give equal text."""
    style = BUILTIN_PERSONAS["teacher"].style
    for seed in range(5):
        assert retell([SOURCE], style, random.Random(seed)) == retell(
            [SOURCE], style, random.Random(seed)
        )


async def test_different_seeds_usually_give_different_text() -> None:
    """Across 20 seeds the tabloid retelling of one text takes at least 15 distinct forms."""
    persona = BUILTIN_PERSONAS["tabloid"]
    texts = {(await _complete(persona, [SOURCE], seed=seed)).text for seed in range(20)}
    assert len(texts) >= 15


# --- levelling and salience ----------------------------------------------------------------


@pytest.mark.parametrize("name", ["tabloid", "teacher"])
def test_repeated_retelling_shortens_long_text(name: str) -> None:
    """Ten retellings fed back into each other leave well under half the words, on average."""
    style = BUILTIN_PERSONAS[name].style
    original = len(LONG_SOURCE.split())
    ratios = []
    for seed in range(8):
        rng = random.Random(seed)
        text = LONG_SOURCE
        for _ in range(10):
            text = retell([text], style, rng)
        assert text
        ratios.append(len(text.split()) / original)
    assert statistics.mean(ratios) < 0.5
    assert max(ratios) < 1.0


def _survival(style: RetellingStyle, seeds: int) -> tuple[float, float]:
    """Survival rates of salient and bland marker clauses in one retelling (case-insensitive)."""
    text = (
        "The museum opened its doors last spring. "
        "The hall was quiet, Keller crashed the prototype in 1964. "
        "The lawn was trimmed, Moreau won the race in 1971. "
        "The walls were painted cream, Lindqvist died in the fire of 1983. "
        "The café served tea, Okafor set the record of 212 kilometres an hour."
    )
    salient = ("keller", "moreau", "lindqvist", "okafor")
    bland = ("quiet", "trimmed", "cream", "tea")
    kept_salient = kept_bland = 0
    for seed in range(seeds):
        out = retell([text], style, random.Random(seed)).lower()
        kept_salient += sum(marker in out for marker in salient)
        kept_bland += sum(marker in out for marker in bland)
    return kept_salient / (4 * seeds), kept_bland / (4 * seeds)


def test_salient_clauses_survive_more_often_than_bland_ones() -> None:
    """With the teacher style, clauses with numbers and threat words outlive bland ones."""
    salient, bland = _survival(BUILTIN_PERSONAS["teacher"].style, seeds=400)
    assert salient > bland + 0.08


def test_full_salience_protection_widens_the_survival_gap() -> None:
    """With salience_protection=1 and a high drop rate the gap between the rates is large."""
    style = RetellingStyle(drop_rate=0.6, salience_protection=1.0, number_drift=0)
    salient, bland = _survival(style, seeds=400)
    assert salient > bland + 0.3


async def test_editor_keeps_more_facts_than_tabloid_over_a_chain() -> None:
    """Over a 5-step chain the editor retains on average far more facts than the tabloid."""

    async def mean_retention(name: str) -> float:
        persona = BUILTIN_PERSONAS[name]
        scores = []
        for seed in range(20):
            text = await _chain(persona, SOURCE, steps=5, seed=seed)
            scores.append(len(facts_retained(text, FACTS)) / len(FACTS))
        return statistics.mean(scores)

    editor = await mean_retention("editor")
    tabloid = await mean_retention("tabloid")
    assert editor > tabloid + 0.25


# --- sharpening: numbers and qualifiers ----------------------------------------------------


def test_number_drift_one_rounds_decimals_and_shifts_years() -> None:
    """number_drift=1 turns 5.9 into 6 and moves a year by exactly one."""
    style = VERBATIM.model_copy(update={"number_drift": 1.0})
    seen_years = set()
    for seed in range(20):
        out = retell(["The engine was 5.9 litres in 1962."], style, random.Random(seed))
        match = re.fullmatch(r"The engine was 6 litres in (\d{4})\.", out)
        assert match is not None, out
        seen_years.add(match.group(1))
    assert seen_years == {"1961", "1963"}


def test_number_drift_one_rounds_large_counts_to_two_figures() -> None:
    """number_drift=1 rounds 1,240 to 1,200 and keeps the thousands separator."""
    style = VERBATIM.model_copy(update={"number_drift": 1.0})
    out = retell(["Only 1,240 cars were built."], style, random.Random(0))
    assert out == "Only 1,200 cars were built."


def test_number_drift_zero_never_changes_numbers() -> None:
    """number_drift=0 leaves every surviving number exactly as written, even while dropping."""
    style = BUILTIN_PERSONAS["tabloid"].style.model_copy(
        update=WITHOUT_ADDITIONS | {"number_drift": 0.0}
    )
    source_numbers = set(re.findall(r"\d[\d,.]*\d|\d", SOURCE))
    for seed in range(50):
        out = retell([SOURCE], style, random.Random(seed))
        for number in re.findall(r"\d[\d,.]*\d|\d", out):
            assert number in source_numbers, (seed, out)
    verbatim = retell([SOURCE], VERBATIM, random.Random(1))
    assert verbatim == SOURCE


def test_qualifier_loss_one_removes_hedge_words() -> None:
    """qualifier_loss=1 removes 'about' and 'roughly' and leaves the rest of the sentence."""
    style = VERBATIM.model_copy(update={"qualifier_loss": 1.0})
    text = "It made about 320 horsepower, and it cost roughly 2 million euros."
    for seed in range(10):
        out = retell([text], style, random.Random(seed))
        assert out == "It made 320 horsepower, and it cost 2 million euros."


def test_qualifier_loss_zero_keeps_hedge_words() -> None:
    """qualifier_loss=0 keeps 'about' and 'roughly' however often it is drawn."""
    text = "It made about 320 horsepower, and it cost roughly 2 million euros."
    for seed in range(10):
        assert retell([text], VERBATIM, random.Random(seed)) == text


# --- assimilation and merging --------------------------------------------------------------


def test_vocabulary_rate_one_puts_the_phrase_in_every_sentence() -> None:
    """A one-phrase vocabulary with rate 1 opens every sentence, lower-casing the old opening."""
    style = VERBATIM.model_copy(update={"vocabulary": ("in short",), "vocabulary_rate": 1.0})
    out = retell(["The car was red. It was fast. Owners loved it."], style, random.Random(3))
    assert out == "In short, the car was red. In short, it was fast. In short, Owners loved it."


def test_vocabulary_phrase_in_every_sentence_of_a_long_text() -> None:
    """With rate 1 the phrase occurs once per input sentence when nothing is dropped."""
    style = VERBATIM.model_copy(update={"vocabulary": ("insiders say",), "vocabulary_rate": 1.0})
    out = retell([LONG_SOURCE], style, random.Random(0))
    sentences = re.split(r"(?<=[.!?])\s+", out)
    assert len(sentences) == 7
    assert all(s.startswith("Insiders say, ") for s in sentences)


def test_merge_does_not_repeat_a_shared_sentence() -> None:
    """Two inputs sharing a sentence are interleaved with that sentence kept once."""
    out = retell(
        ["The car is red. It was fast.", "The car is red. Owners loved it."],
        VERBATIM,
        random.Random(0),
    )
    assert out == "The car is red. It was fast. Owners loved it."


async def test_backend_merges_several_inputs() -> None:
    """A multi-input request reads every input: text unique to each one shows up verbatim."""
    persona = _persona(VERBATIM)
    completion = await _complete(persona, ["The car is red.", "The boat is blue."], seed=4)
    assert completion.text == "The car is red. The boat is blue."


def test_drop_rate_zero_keeps_all_content_words() -> None:
    """drop_rate=0 loses no content word even with tabloid distortion and colouring."""
    style = BUILTIN_PERSONAS["tabloid"].style.model_copy(
        update=WITHOUT_ADDITIONS | {"drop_rate": 0.0}
    )
    content = {w.lower() for w in LETTERS.findall(SOURCE)} - QUALIFIER_WORDS
    for seed in range(30):
        out = retell([SOURCE], style, random.Random(seed))
        assert content <= {w.lower() for w in LETTERS.findall(out)}, seed


# --- robustness ----------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   ", "\n"])
def test_blank_input_does_not_crash(text: str) -> None:
    """A blank input yields an empty retelling rather than an exception."""
    assert retell([text], RetellingStyle(), random.Random(0)) == ""


def test_no_inputs_does_not_crash() -> None:
    """An empty input list yields an empty retelling."""
    assert retell([], RetellingStyle(), random.Random(0)) == ""


@pytest.mark.parametrize("text", ["Hi.", "Yes", SOURCE, LONG_SOURCE])
def test_output_never_empty_for_real_text(text: str) -> None:
    """Even a maximal drop rate keeps at least one clause of a text with words in it."""
    style = RetellingStyle(drop_rate=1.0, salience_protection=0.0)
    for seed in range(30):
        assert retell([text], style, random.Random(seed)).strip()


def test_single_word_input_is_closed_with_a_full_stop() -> None:
    """A fragment without final punctuation comes back capitalised with a full stop."""
    assert retell(["yes"], VERBATIM, random.Random(0)) == "Yes."


@pytest.mark.parametrize("name", sorted(BUILTIN_PERSONAS))
async def test_every_persona_gives_non_empty_text(name: str) -> None:
    """Each built-in persona retells a short and a long text into non-empty text."""
    persona = BUILTIN_PERSONAS[name]
    for seed in range(10):
        for text in ("Hi.", LONG_SOURCE):
            assert (await _complete(persona, [text], seed=seed)).text.strip()


# --- backend -------------------------------------------------------------------------------


async def test_backend_usage_adds_up_and_model_is_synthetic() -> None:
    """Usage counts words / 0.75 per prompt, and total = prompt + completion."""
    persona = _persona(RetellingStyle(), system="one two three")
    completion = await _complete(persona, ["Hi."], seed=0)
    # system: 3 words -> 4 tokens; user: 10 instruction words + "Hi." -> round(11 / 0.75) = 15.
    assert completion.text == "Hi."
    assert completion.model == "synthetic"
    assert completion.finish_reason == "stop"
    assert completion.usage.prompt_tokens == 19
    assert completion.usage.completion_tokens == 1
    assert completion.usage.total_tokens == 20
    assert completion.latency_ms >= 0


@pytest.mark.parametrize("name", sorted(BUILTIN_PERSONAS))
async def test_backend_usage_total_is_sum_for_every_persona(name: str) -> None:
    """For every built-in persona total_tokens equals prompt_tokens + completion_tokens."""
    completion = await _complete(BUILTIN_PERSONAS[name], [SOURCE, LONG_SOURCE], seed=7)
    usage = completion.usage
    assert usage.prompt_tokens > 0
    assert usage.completion_tokens > 0
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    assert completion.model == "synthetic"


async def test_backend_aclose_is_harmless() -> None:
    """aclose() returns None and leaves the backend usable."""
    backend = SyntheticBackend()
    assert await backend.aclose() is None
    agent = Agent(_persona(RetellingStyle()), backend, "summarize")
    assert (await agent.respond([InputText("Hi.")], seed=1)).completion.text == "Hi."


# --- personas ------------------------------------------------------------------------------


def test_six_builtin_personas_with_distinct_names_and_prompts() -> None:
    """The six built-ins exist, are keyed by their own name and have distinct system prompts."""
    expected = {"editor", "tabloid", "scientist", "teacher", "skeptic", "copywriter"}
    assert set(BUILTIN_PERSONAS) == expected
    assert all(p.name == key for key, p in BUILTIN_PERSONAS.items())
    systems = [p.system for p in BUILTIN_PERSONAS.values()]
    assert len(set(systems)) == 6
    assert all(s.strip() for s in systems)


def test_builtin_personas_have_distinct_styles() -> None:
    """No two built-in personas share a retelling style."""
    styles = [p.style for p in BUILTIN_PERSONAS.values()]
    assert len({s.model_dump_json() for s in styles}) == 6
    assert BUILTIN_PERSONAS["editor"].style.drop_rate < BUILTIN_PERSONAS["tabloid"].style.drop_rate
    assert BUILTIN_PERSONAS["scientist"].style.qualifier_loss == 0.0


def test_retelling_style_rejects_out_of_range_values() -> None:
    """RetellingStyle validates its probabilities and forbids unknown fields."""
    with pytest.raises(ValidationError):
        RetellingStyle(drop_rate=1.5)
    with pytest.raises(ValidationError):
        RetellingStyle(target_words=4)
    with pytest.raises(ValidationError):
        RetellingStyle(colour=0.5)  # type: ignore[call-arg]


def test_a_prefixed_phrase_keeps_names_capitalised() -> None:
    """Only an opening function word is lower-cased after a stock phrase; a name is not."""
    style = VERBATIM.model_copy(update={"vocabulary": ("in short",), "vocabulary_rate": 1.0})
    out = retell(["Keller designed it. The car was red."], style, random.Random(3))
    assert out == "In short, Keller designed it. In short, the car was red."


def test_merging_stays_near_the_persona_length() -> None:
    """Repeated three-way merges do not grow past 1.5 x the persona's target length."""
    style = BUILTIN_PERSONAS["tabloid"].style
    rng = random.Random(8)
    texts = [LONG_SOURCE] * 3
    for _ in range(15):
        texts = [retell(texts, style, rng) for _ in range(3)]
    assert max(len(t.split()) for t in texts) <= 1.5 * style.target_words + 15


# --- invention, substitution, attraction ---------------------------------------------------


def _normal(text: str) -> str:
    return " ".join(re.findall(r"[\w'-]+", text.lower()))


def _novel_clauses(out: str, inputs: list[str], min_words: int = 4) -> list[str]:
    """Clauses of at least `min_words` words whose words, in order, no input holds."""
    held = " | ".join(_normal(t) for t in inputs)
    clauses = [c for s in re.split(r"(?<=[.!?])\s+", out) for c in re.split(r"(?<=[,;])\s+", s)]
    return [c for c in clauses if len(_normal(c).split()) >= min_words and _normal(c) not in held]


@pytest.mark.parametrize("rate", [0.0, 0.2, 0.6])
def test_invented_clauses_come_at_the_rate_the_style_sets(rate: float) -> None:
    """Each sentence gains a new clause of several words, held by no input, with chance invent."""
    style = VERBATIM.model_copy(update={"invent": rate})
    seeds, sentences = 300, 3
    novel = sum(
        len(_novel_clauses(retell([SOURCE], style, random.Random(seed)), [SOURCE]))
        for seed in range(seeds)
    )
    if rate == 0:
        assert novel == 0
    else:
        assert abs(novel / (seeds * sentences) - rate) < 0.06


def test_invented_clauses_use_the_persona_and_population_vocabulary() -> None:
    """A persona's template is filled with words of the texts it reads."""
    style = VERBATIM.model_copy(
        update={"invent": 1.0, "inventions": ("after a quarrel about the {thing} with {name}",)}
    )
    out = retell([SOURCE], style, random.Random(2))
    novel = _novel_clauses(out, [SOURCE])
    assert len(novel) == 3
    for clause in novel:
        match = re.fullmatch(r"after a quarrel about the (\w+) with ([\w-]+)\.?", clause)
        assert match is not None, clause
        assert match[1] in SOURCE and match[2] in SOURCE


def test_substitution_swaps_names_numbers_and_months_within_the_population() -> None:
    """substitute=1 changes every later name, number and month, only for words the inputs
    hold (or another month); substitute=0 changes nothing."""
    text = "Maria Keller met Tomas Reyne in March 1962, and Reyne saw Keller again in 1964."
    assert retell([text], VERBATIM, random.Random(0)) == text
    style = VERBATIM.model_copy(update={"substitute": 1.0})
    months = {"january", "february", "march", "april", "may", "june", "july", "august"}
    months |= {"september", "october", "november", "december"}
    allowed = {w.lower() for w in re.findall(r"\w+", text)} | months
    changed = 0
    for seed in range(20):
        out = retell([text], style, random.Random(seed))
        assert {w.lower() for w in re.findall(r"\w+", out)} <= allowed, out
        assert out.startswith("Maria ")  # the opening word is not a name candidate
        changed += out != text
        assert "March" not in out
    assert changed == 20


def test_attraction_pulls_a_chain_toward_the_persona_phrasing() -> None:
    """With attraction, most chains end holding one of the persona's own sentences; without it,
    none does."""
    phrasing = ("{topic} was one of a kind.",)
    base = BUILTIN_PERSONAS["tabloid"].style.model_copy(
        update=WITHOUT_ADDITIONS | {"phrasing": phrasing}
    )

    def holding(attraction: float) -> float:
        style = base.model_copy(update={"attraction": attraction})
        held = 0
        for seed in range(40):
            rng = random.Random(seed)
            text = LONG_SOURCE
            for _ in range(8):
                text = retell([text], style, rng)
            held += "was one of a kind." in text
        return held / 40

    assert holding(0.0) == 0
    assert holding(0.5) > 0.5


def test_template_slots_are_checked() -> None:
    """A template with an unknown slot is refused, naming the slot."""
    with pytest.raises(ValidationError, match="colour"):
        RetellingStyle(inventions=("painted {colour}",))


# --- tasks and labels ----------------------------------------------------------------------


def _mean_words(style: RetellingStyle, task: str, seeds: int = 60) -> float:
    return statistics.mean(
        len(retell([LONG_SOURCE], style, random.Random(seed), task).split())
        for seed in range(seeds)
    )


def test_tasks_move_length_in_the_documented_direction() -> None:
    """summarize shortens, rephrase keeps the length, continue adds (tabloid, a long text)."""
    style = BUILTIN_PERSONAS["tabloid"].style
    original = len(LONG_SOURCE.split())
    summarize = _mean_words(style, "summarize")
    rephrase = _mean_words(style, "rephrase")
    cont = _mean_words(style, "continue")
    assert summarize < 0.8 * original
    assert 0.8 * original < rephrase < 1.2 * original
    assert cont > 1.2 * original
    assert summarize < rephrase < cont


def test_inspire_invents_most() -> None:
    """With nothing else adding words, inspire yields more new clauses than any other task."""
    style = RetellingStyle(drop_rate=0.2, number_drift=0, qualifier_loss=0, invent=0.2)

    def novel(task: str) -> float:
        return statistics.mean(
            len(_novel_clauses(retell([LONG_SOURCE], style, random.Random(s), task), [LONG_SOURCE]))
            for s in range(60)
        )

    counts = {task: novel(task) for task in ("summarize", "retell", "rephrase", "continue")}
    assert novel("inspire") > max(counts.values()) + 0.5


def test_rephrase_substitutes_more_than_summarize() -> None:
    """rephrase doubles the substitution rate: more names and numbers change."""
    style = VERBATIM.model_copy(update={"substitute": 0.2})

    def changed(task: str) -> int:
        return sum(
            len(_novel_clauses(retell([SOURCE], style, random.Random(s), task), [SOURCE], 1))
            for s in range(100)
        )

    assert changed("rephrase") > 1.4 * changed("summarize")


HUMAN = "[Human-written]"
AI_3 = "[AI-generated, 3 generations from a human text]"
FILLER = (
    "The body was shaped in a small workshop near the river. The paint was mixed by hand. "
    "Owners liked the quiet ride and the smooth gearbox. Most cars were sold in the north."
)


def _retention_with(style: RetellingStyle, labels: tuple[str | None, ...]) -> float:
    inputs = [FILLER, SOURCE, FILLER.replace("river", "lake")]
    return statistics.mean(
        len(facts_retained(retell(inputs, style, random.Random(seed), labels=labels), FACTS))
        / len(FACTS)
        for seed in range(100)
    )


def test_labels_steer_a_trusting_persona_toward_the_human_text() -> None:
    """The scientist (label_trust 0.9), made to cut hard, keeps more of the human-labelled
    text's facts when labels are shown than when they are not."""
    style = BUILTIN_PERSONAS["scientist"].style.model_copy(update={"target_words": 30})
    unlabelled = _retention_with(style, ())
    labelled = _retention_with(style, (AI_3, HUMAN, AI_3))
    assert labelled > unlabelled + 0.05


def test_labels_change_nothing_without_trust() -> None:
    """With label_trust 0 a labelled request gives exactly the unlabelled text."""
    style = BUILTIN_PERSONAS["scientist"].style.model_copy(update={"label_trust": 0.0})
    inputs = [FILLER, SOURCE]
    for seed in range(10):
        assert retell(inputs, style, random.Random(seed), labels=(AI_3, HUMAN)) == retell(
            inputs, style, random.Random(seed)
        )


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        (None, 0.0),
        (HUMAN, -1.0),
        ("[Unlabelled; a detector judged it human-written]", -0.5),
        ("[AI-generated, 1 generation from a human text]", 0.5),
        (AI_3, 0.75),
        ("[Unlabelled; a detector judged it AI-generated]", 0.75),
        ("[No provenance label]", 0.25),
    ],
)
def test_distrust_of_each_label(label: str | None, expected: float) -> None:
    """Every label the label policy writes reads as the documented distrust."""
    assert distrust(label) == expected
