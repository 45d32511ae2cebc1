"""Who speaks and how: personas, tasks, chat backends and embedders.

Agents know nothing of provenance, the engine, Redis or HTTP.
"""

from agents.agent import Agent, Reply
from agents.backend import BackendError, ChatBackend, ChatRequest, Completion, Usage
from agents.persona import Persona, RetellingStyle
from agents.personas import BUILTIN_PERSONAS
from agents.tasks import InputText, render_prompt

__all__ = [
    "BUILTIN_PERSONAS",
    "Agent",
    "BackendError",
    "ChatBackend",
    "ChatRequest",
    "Completion",
    "InputText",
    "Persona",
    "Reply",
    "RetellingStyle",
    "Usage",
    "render_prompt",
]
