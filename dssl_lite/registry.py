"""One registry per axis of an experiment, filled by decorators where each entry is defined (as
timm registers its models). Config validation, CLI choices, widget dropdowns, docs tables and
tests all read these, so a new objective, graph, dataset or encoder is one definition plus its
registration, and every list of names follows.

    >>> from dssl_lite.registry import OBJECTIVES
    >>> OBJECTIVES.names()
    ('mim', 'mar', 'mar-shared', 'mar-ref', 'cl', 'simclr', 'byol', 'byol-local')
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable

from .errors import ConfigError, short


@dataclass(frozen=True)
class Entry:
    name: str
    obj: Any                      # the class or function registered
    help: str                     # one line for dropdowns, `--help` and docs tables
    meta: dict = field(default_factory=dict)


class Registry:
    """Named entries of one axis (`axis` is the config field that selects them). The modules
    that register entries are imported on first use, so importing the registry stays cheap."""

    def __init__(self, axis: str, module: str):
        self.axis, self._module = axis, module
        self._entries: dict[str, Entry] = {}
        self._loaded = False

    def register(self, name: str, help: str, **meta: Any) -> Callable:
        def add(obj):
            if name in self._entries and self._entries[name].obj is not obj:
                raise ValueError(f"{self.axis} {name!r} is registered twice")
            self._entries[name] = Entry(name, obj, help, meta)
            return obj
        return add

    def _load(self) -> dict[str, Entry]:
        if not self._loaded:
            importlib.import_module(self._module)  # its decorators fill `_entries`
            self._loaded = True
        return self._entries

    def names(self) -> tuple[str, ...]:
        return tuple(self._load())

    def get(self, name: str) -> Entry:
        entries = self._load()
        if name not in entries:
            raise ConfigError(self.axis, f"got {short(name)}; allowed: {', '.join(entries)}")
        return entries[name]

    def help(self) -> dict[str, str]:
        return {n: e.help for n, e in self._load().items()}

    def __contains__(self, name: object) -> bool:
        return name in self._load()

    def __iter__(self):
        return iter(self.names())


OBJECTIVES = Registry("objective", "dssl_lite.objectives")
TOPOLOGIES = Registry("topology", "dssl_lite.topologies")
DATASETS = Registry("dataset", "dssl_lite.data")
ENCODERS = Registry("model", "dssl_lite.models")
