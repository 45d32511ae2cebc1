"""The synthetic channel's assumptions in one place: every hand-set number it retells by.

A spec's `channel:` block is a `Channel`. Per-persona rates (label trust, drop rate, ...) start
from each persona's `style` and can be overridden by name (`personas:`) or scaled for all
personas at once (`*_scale`); the rest are the channel's global rules (salience weights, how
length pressure and label doubt act). `Channel.LEGACY` reproduces the channel as it was before
calibration; the defaults come from the calibration reported in docs/synthetic.md.
"""

from __future__ import annotations

from typing import Any, ClassVar, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_validator

from agents.persona import Persona, RetellingStyle

SCALED_RATES = ("drop_rate", "invent", "substitute", "attraction")


class Salience(NamedTuple):
    """What makes a clause stick (summed, capped at 1): see `Channel` for each weight."""

    number: float
    name: float
    word: float
    opening_sentence: float


class Channel(BaseModel):
    """Behavioural parameters of the synthetic channel (docs/synthetic.md, "The channel block")."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, allow_inf_nan=False)

    personas: dict[str, dict[str, JsonValue]] = Field(
        default_factory=dict,
        description="per persona (by name): style fields that replace the persona's own",
    )
    label_trust: float | None = Field(
        None, ge=0, le=1, description="when set, every persona's label trust (0: labels ignored)"
    )
    drop_scale: float = Field(1.0, ge=0, le=5, description="multiplies every drop_rate")
    invent_scale: float = Field(1.0, ge=0, le=5, description="multiplies every invent rate")
    substitute_scale: float = Field(1.0, ge=0, le=5, description="multiplies every substitute")
    attraction_scale: float = Field(1.0, ge=0, le=5, description="multiplies every attraction")
    target_scale: float = Field(0.75, gt=0, le=5, description="multiplies every target_words")
    length_pressure: float = Field(
        0.5,
        ge=0,
        le=4,
        description="a text over its target is cut harder: drop x (words / target) ** this",
    )
    settled_change: float = Field(
        0.2,
        ge=0,
        le=1,
        description=(
            "chance a text at or under its target length is retold; else it is passed on as "
            "it is, a fixed point (1: always retold, no plateau)"
        ),
    )
    max_drop: float = Field(0.95, ge=0, le=1, description="highest drop chance of one clause")
    length_cap: float = Field(
        1.5, gt=0, le=10, description="sentences are trimmed above this x target words"
    )
    salience_number: float = Field(0.4, ge=0, le=1, description="salience of a clause with digits")
    salience_name: float = Field(0.2, ge=0, le=1, description="salience of a clause with a name")
    salience_word: float = Field(
        0.3, ge=0, le=1, description="salience of a threat, record or surprise word"
    )
    salience_opening: float = Field(
        0.2, ge=0, le=1, description="salience added in the text's opening sentence"
    )
    doubt_drop: float = Field(
        2.0, ge=0, le=10, description="drop x (1 + this x doubt) for a text labels make doubtful"
    )
    trust_keep: float = Field(
        1.0, ge=0, le=1, description="drop x (1 - this x trust) for a text labels make trusted"
    )
    doubt_trim: float = Field(
        0.3, ge=0, le=1, description="salience lost per unit of doubt when trimming to length"
    )

    LEGACY: ClassVar[dict[str, Any]] = {
        "drop_scale": 1.0,
        "invent_scale": 1.0,
        "substitute_scale": 1.0,
        "attraction_scale": 1.0,
        "target_scale": 1.0,
        "length_pressure": 0.5,
        "settled_change": 1.0,
    }
    """The values before calibration (the global rules not listed here kept theirs)."""

    @field_validator("personas")
    @classmethod
    def _valid_styles(
        cls, personas: dict[str, dict[str, JsonValue]]
    ) -> dict[str, dict[str, JsonValue]]:
        for name, fields in personas.items():
            unknown = sorted(set(fields) - set(RetellingStyle.model_fields))
            if unknown:
                raise ValueError(
                    f"channel.personas.{name}: unknown style field {', '.join(unknown)}; "
                    f"fields are {', '.join(RetellingStyle.model_fields)}"
                )
            RetellingStyle.model_validate(fields, strict=False)
        return personas

    def __hash__(self) -> int:
        return hash(self.model_dump_json())

    def style_of(self, persona: Persona) -> RetellingStyle:
        """The style the channel retells `persona` by: its own, with this block's overrides
        for it, then the global label trust and scales applied."""
        fields = persona.style.model_dump()
        fields.update(self.personas.get(persona.name, {}))
        if self.label_trust is not None:
            fields["label_trust"] = self.label_trust
        for rate, scale in zip(SCALED_RATES, self._scales(), strict=True):
            fields[rate] = min(1.0, fields[rate] * scale)
        fields["target_words"] = max(5, round(fields["target_words"] * self.target_scale))
        return RetellingStyle.model_validate(fields, strict=False)

    def _scales(self) -> tuple[float, float, float, float]:
        return (self.drop_scale, self.invent_scale, self.substitute_scale, self.attraction_scale)

    @property
    def salience(self) -> Salience:
        return Salience(
            self.salience_number, self.salience_name, self.salience_word, self.salience_opening
        )

    def in_force(self, personas: list[Persona]) -> dict[str, Any]:
        """What the manifest records: the global rules and each persona's resolved style."""
        rules = self.model_dump(exclude={"personas", "label_trust"})
        styles = {
            p.name: self.style_of(p).model_dump(exclude={"vocabulary", "inventions", "phrasing"})
            for p in personas
        }
        return {"rules": rules, "personas": styles}


DEFAULT_CHANNEL = Channel()
