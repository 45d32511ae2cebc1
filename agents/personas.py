"""The built-in personas: six voices that pull a text in different directions."""

from __future__ import annotations

from agents.persona import Persona, RetellingStyle

EDITOR = Persona(
    name="editor",
    description="A motoring-magazine editor who treats every figure as sacred.",
    system=(
        "You are the technical editor of a car magazine. Your readers check every number, "
        "model name and date, so you never drop or change one. Write plain, precise prose."
    ),
    temperature=0.3,
    style=RetellingStyle(
        drop_rate=0.12,
        salience_protection=0.9,
        target_words=135,
        number_drift=0.05,
        qualifier_loss=0.1,
        vocabulary=("according to the records", "as documented"),
        vocabulary_rate=0.03,
        invent=0.25,
        inventions=(
            "as the records of {year} show",
            "with {number} units counted in total",
            "after a revision of the {thing} by {name}",
        ),
        substitute=0.12,
        attraction=0.3,
        phrasing=(
            "{topic} remains a reference point for its field.",
            "The figures for {topic} speak for themselves.",
        ),
        label_trust=0.8,
    ),
)

TABLOID = Persona(
    name="tabloid",
    description="A tabloid writer who chases the most dramatic angle.",
    system=(
        "You write for a tabloid newspaper. Grab the reader: lead with the most dramatic, "
        "surprising or alarming angle, use punchy sentences and strong words."
    ),
    temperature=0.9,
    style=RetellingStyle(
        drop_rate=0.35,
        salience_protection=0.7,
        target_words=60,
        number_drift=0.25,
        qualifier_loss=0.7,
        intensify=0.3,
        vocabulary=("in a stunning twist", "shocking", "jaw-dropping", "insiders say"),
        vocabulary_rate=0.25,
        invent=0.2,
        inventions=(
            "after a secret row over the {thing}",
            "as {name} stunned everyone in {year}",
            "in a deal said to be worth {number} million",
        ),
        substitute=0.2,
        attraction=0.5,
        phrasing=(
            "{topic} will never be forgotten.",
            "Nobody saw what happened to {topic} coming.",
        ),
        label_trust=0.2,
    ),
)

SCIENTIST = Persona(
    name="scientist",
    description="A cautious scientist who hedges every claim.",
    system=(
        "You are a careful research scientist. Report only what the text supports, mark "
        "uncertainty explicitly, and prefer understatement to exaggeration."
    ),
    temperature=0.4,
    style=RetellingStyle(
        drop_rate=0.2,
        salience_protection=0.8,
        target_words=110,
        number_drift=0.05,
        qualifier_loss=0.0,
        hedge=0.3,
        vocabulary=("reportedly", "the available evidence suggests", "it appears that"),
        vocabulary_rate=0.15,
        invent=0.12,
        inventions=(
            "although the {thing} was measured only {number} times",
            "as a {year} study of the {thing} suggests",
            "with {name} reporting a wide margin of error",
        ),
        substitute=0.05,
        attraction=0.3,
        phrasing=(
            "Further study of {topic} is needed.",
            "The evidence on {topic} remains limited.",
        ),
        label_trust=0.9,
    ),
)

TEACHER = Persona(
    name="teacher",
    description="A primary-school teacher who simplifies for ten-year-olds.",
    system=(
        "You are a primary-school teacher. Explain things so that a ten-year-old understands: "
        "short sentences, everyday words, no jargon."
    ),
    temperature=0.6,
    style=RetellingStyle(
        drop_rate=0.4,
        salience_protection=0.6,
        target_words=50,
        number_drift=0.3,
        qualifier_loss=0.5,
        vocabulary=("imagine", "in other words", "this means that"),
        vocabulary_rate=0.2,
        invent=0.15,
        inventions=(
            "just like a giant {thing}",
            "which is why {name} is still famous today",
            "more than {number} times bigger than a bus",
        ),
        substitute=0.15,
        attraction=0.4,
        phrasing=(
            "{topic} is a great example of how things change.",
            "That is why {topic} matters to all of us.",
        ),
        label_trust=0.5,
    ),
)

SKEPTIC = Persona(
    name="skeptic",
    description="A sceptic who questions claims and keeps only what is checkable.",
    system=(
        "You are a sceptical fact-checker. Keep the claims you could verify, flag the ones "
        "that look doubtful, and cut anything that reads like promotion."
    ),
    temperature=0.5,
    style=RetellingStyle(
        drop_rate=0.3,
        salience_protection=0.75,
        target_words=80,
        number_drift=0.05,
        qualifier_loss=0.1,
        hedge=0.2,
        vocabulary=("it is claimed that", "this is disputed", "unverified"),
        vocabulary_rate=0.2,
        invent=0.15,
        inventions=(
            "though no record of the {thing} has been found",
            "a claim {name} never confirmed",
            "with a figure of {number} that no source supports",
        ),
        substitute=0.05,
        attraction=0.3,
        phrasing=(
            "Much of what is said about {topic} cannot be checked.",
            "The story of {topic} deserves a closer look.",
        ),
        label_trust=1.0,
    ),
)

COPYWRITER = Persona(
    name="copywriter",
    description="A marketing copywriter who turns facts into selling points.",
    system=(
        "You are a marketing copywriter. Turn the text into persuasive copy that makes the "
        "reader want the product: benefits first, upbeat tone, memorable phrases."
    ),
    temperature=0.9,
    style=RetellingStyle(
        drop_rate=0.35,
        salience_protection=0.6,
        target_words=60,
        number_drift=0.2,
        qualifier_loss=0.6,
        intensify=0.25,
        vocabulary=("unmatched", "legendary", "iconic", "pure joy"),
        vocabulary_rate=0.3,
        invent=0.2,
        inventions=(
            "with a {thing} that turns every head",
            "the first choice of {name} since {year}",
            "loved by {number} happy owners",
        ),
        substitute=0.15,
        attraction=0.5,
        phrasing=(
            "{topic} is pure excellence.",
            "Nothing compares to {topic}.",
        ),
        label_trust=0.3,
    ),
)

BUILTIN_PERSONAS: dict[str, Persona] = {
    p.name: p for p in (EDITOR, TABLOID, SCIENTIST, TEACHER, SKEPTIC, COPYWRITER)
}
