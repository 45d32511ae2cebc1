"""An agent: a persona speaking through a backend. Texts in, one completion out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from agents.assembly import assemble
from agents.backend import ChatBackend, ChatRequest, Completion
from agents.persona import Persona
from agents.tasks import InputText, render_prompt


class Reply(NamedTuple):
    """An agent's answer with the exact prompt it was given."""

    completion: Completion
    system: str
    prompt: str


@dataclass(frozen=True, slots=True)
class Agent:
    """A persona bound to a chat backend and a task."""

    persona: Persona
    backend: ChatBackend
    task: str
    model: str | None = None
    max_tokens: int | None = None

    def request(self, inputs: list[InputText], *, seed: int | None = None) -> ChatRequest:
        """The chat request this agent would send for `inputs` (no call is made); every
        value already has its type (the persona is validated), so none is validated again."""
        persona = self.persona
        return assemble(
            ChatRequest,
            {
                "system": persona.system,
                "user": render_prompt(self.task, inputs),
                "inputs": tuple(item.text for item in inputs),
                "labels": tuple(item.label for item in inputs),
                "persona": persona,
                "task": self.task,
                "model": persona.model or self.model,
                "temperature": float(persona.temperature),
                "max_tokens": self.max_tokens or persona.max_tokens,
                "seed": seed,
            },
        )

    async def respond(self, inputs: list[InputText], *, seed: int | None = None) -> Reply:
        """Retell `inputs` once."""
        request = self.request(inputs, seed=seed)
        completion = await self.backend.complete(request)
        return Reply(completion=completion, system=request.system, prompt=request.user)
