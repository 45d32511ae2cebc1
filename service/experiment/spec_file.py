"""Read a spec file (YAML, or JSON, which is YAML) within the limits, refusing duplicate keys."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from service.errors import Problem, SpecError
from service.experiment.settings import Settings, limit_hint

MERGE_TAG = "tag:yaml.org,2002:merge"


class _TooLarge(Exception):
    """A limit was crossed while composing; carries the problem."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem


class SpecLoader(yaml.SafeLoader):
    """The safe loader, composing with a depth limit, an expanded-size limit (aliases counted
    at their full size, so an alias bomb stops early) and a record of duplicate keys."""

    def __init__(self, text: str, settings: Settings) -> None:
        super().__init__(text)
        self.settings = settings
        self.duplicates: list[tuple[int, Problem]] = []
        self._path: list[str] = []
        self._sizes: dict[int, int] = {}

    def compose_node(self, parent: Node | None, index: object) -> Node | None:
        is_alias = self.check_event(yaml.AliasEvent)
        if isinstance(index, ScalarNode):
            self._path.append(index.value)
        elif isinstance(index, int):
            self._path.append(str(index))
        if len(self._path) > self.settings.max_spec_depth:
            raise _TooLarge(
                Problem(
                    ".".join(self._path),
                    f"nested more than {self.settings.max_spec_depth} levels deep "
                    f"(raise {limit_hint('max_spec_depth')} to allow more)",
                )
            )
        try:
            # PyYAML passes a mapping's key node as `index` too; its stubs allow only int
            node = super().compose_node(parent, index)  # type: ignore[arg-type]
            if node is not None and is_alias:
                self._check_alias(node)
            elif node is not None:
                self._measure(node)
        finally:
            if isinstance(index, ScalarNode | int):
                self._path.pop()
        return node

    def _check_alias(self, node: Node) -> None:
        if id(node) not in self._sizes:
            raise _TooLarge(
                Problem(".".join(self._path), "an alias refers to a value that contains it")
            )

    def _measure(self, node: Node) -> None:
        if isinstance(node, MappingNode):
            self._record_duplicates(node)
            children = [part for pair in node.value for part in pair]
        elif isinstance(node, SequenceNode):
            children = node.value
        else:
            children = []
        size = 1 + sum(self._sizes[id(child)] for child in children)
        if size > self.settings.max_spec_values:
            raise _TooLarge(
                Problem(
                    ".".join(self._path),
                    f"expands to more than {self.settings.max_spec_values:,} values, aliases "
                    f"counted at full size (raise {limit_hint('max_spec_values')} to allow more)",
                )
            )
        self._sizes[id(node)] = size

    def _record_duplicates(self, node: MappingNode) -> None:
        first_line: dict[tuple[str, str], int] = {}
        for key, _ in node.value:
            if not isinstance(key, ScalarNode) or key.tag == MERGE_TAG:
                continue
            identity, line = (key.tag, key.value), key.start_mark.line + 1
            if identity not in first_line:
                first_line[identity] = line
                continue
            problem = Problem(
                ".".join([*self._path, key.value]),
                f"duplicate key (line {first_line[identity]}, again on line {line})",
            )
            self.duplicates.append((line, problem))


def read_spec_file(path: str | Path, settings: Settings | None = None) -> dict[str, Any]:
    """The raw spec in a YAML or JSON file; every way the file itself is wrong is a SpecError."""
    settings = settings or Settings()
    text = _read_text(Path(path), settings)
    try:
        raw = _load(text, settings)
    except SpecError:
        raise
    except _TooLarge as exc:
        raise SpecError([exc.problem]) from None
    except yaml.YAMLError as exc:
        raise SpecError([Problem("", f"spec file {path} is not valid YAML: {exc}")]) from None
    except (ValueError, OverflowError) as exc:  # e.g. a 5,000-digit int, a 13th month
        raise SpecError(
            [Problem("", f"spec file {path} holds a value out of range: {exc}")]
        ) from None
    if not isinstance(raw, dict):
        raise SpecError([Problem("", f"spec file {path} must hold a mapping of fields")])
    return raw


def _load(text: str, settings: Settings) -> object:
    loader = SpecLoader(text, settings)
    try:
        node = loader.get_single_node()
        if loader.duplicates:
            raise SpecError(
                [problem for _, problem in sorted(loader.duplicates, key=lambda d: d[0])]
            )
        return loader.construct_document(node) if node is not None else None
    finally:
        loader.dispose()


def _read_text(path: Path, settings: Settings) -> str:
    limit = settings.max_spec_bytes
    try:
        with path.open("rb") as file:
            data = file.read(limit + 1)
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the path
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise SpecError([Problem("", f"cannot read spec file {path}: {reason}")]) from None
    if len(data) > limit:
        raise SpecError(
            [
                Problem(
                    "",
                    f"spec file {path} is larger than {limit:,} bytes "
                    f"(raise {limit_hint('max_spec_bytes')} to allow more)",
                )
            ]
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError(
            [
                Problem(
                    "",
                    f"spec file {path} is not UTF-8 text: byte {data[exc.start]:#04x} "
                    f"at offset {exc.start} ({exc.reason})",
                )
            ]
        ) from None
