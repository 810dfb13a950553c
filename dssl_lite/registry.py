"""One registry per axis of an experiment, filled by decorators where each entry is defined (as
timm registers its models). Config validation, CLI choices, widget dropdowns, docs tables and
tests all read these, so a new objective, graph, dataset or encoder is one definition plus its
registration, and every list of names follows.

An entry also declares the config fields only it reads (`Param`: name, default, allowed range,
help), as timm's entries carry their defaults: `mask_ratio` belongs to the MIM objectives,
`degree` to the graphs that have one, `participation` to FL. `Config` accepts every declared
field (in `--set`, grids and widgets alike), validates it with its range, and leaves it out of a
run's identity when the chosen parts do not read it.

    >>> from dssl_lite.registry import OBJECTIVES
    >>> OBJECTIVES.names()
    ('mim', 'mar', 'mar-shared', 'mar-ref', 'cl', 'simclr', 'byol', 'byol-local')
"""
from __future__ import annotations

import importlib
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from .errors import ConfigError, short


@dataclass(frozen=True)
class Param:
    """A config field that a registered part declares: its name, default, allowed values and one
    line of help. Numbers have a range (`lo`, `hi`; `lo_open`: lo itself not allowed); strings
    `choices`. `strict`: a value other than the default is an error unless a chosen part reads
    it (FL's `participation` on a gossip graph), where other unread fields are simply unused."""

    name: str
    default: Any
    help: str
    lo: Optional[float] = None
    hi: Optional[float] = None
    lo_open: bool = False
    choices: tuple = ()
    strict: bool = False

    @property
    def kind(self) -> type:
        return type(self.default)

    def allowed(self) -> str:
        if self.choices:
            return ", ".join(map(str, self.choices))
        if self.kind is int:
            return f"an integer >= {self.lo:g}" if self.hi is None else f"an integer in [{self.lo:g}, {self.hi:g}]"
        return f"a number in {'(' if self.lo_open else '['}{self.lo:g}, {self.hi:g}]"

    def check(self, value: Any) -> None:
        """ConfigError naming the field unless `value` is allowed."""
        if self.choices:
            ok = isinstance(value, str) and value in self.choices
        elif self.kind is int:
            ok = isinstance(value, int) and not isinstance(value, bool) and value >= self.lo and \
                (self.hi is None or value <= self.hi)
        else:
            ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value == value and \
                (value > self.lo if self.lo_open else value >= self.lo) and value <= self.hi
        if not ok:
            raise ConfigError(self.name, f"got {short(value)}; allowed: {self.allowed()}")


# Every declared field, by name: one definition each, however many parts declare it.
PARAMS: dict[str, Param] = {}


def declare(*params: Param) -> tuple[Param, ...]:
    """Record the fields a part declares (a name declared twice must be the same field)."""
    for p in params:
        if PARAMS.setdefault(p.name, p) != p:
            raise ValueError(f"field {p.name!r} is declared twice with different specs")
    return params


@dataclass(frozen=True)
class Entry:
    name: str
    obj: Any                      # the class or function registered
    help: str                     # one line for dropdowns, `--help` and docs tables
    meta: dict = field(default_factory=dict)  # e.g. `colour`: how every chart, notebook and docs figure draws it
    params: tuple = ()            # the config fields only this part reads (`Param`)


class Registry:
    """Named entries of one axis (`axis` is the config field that selects them). The modules
    that register entries are imported on first use, so importing the registry stays cheap."""

    def __init__(self, axis: str, module: str):
        self.axis, self._module = axis, module
        self._entries: dict[str, Entry] = {}
        self._loaded = False

    def register(self, name: str, help: str, params: tuple = (), **meta: Any) -> Callable:
        def add(obj):
            if name in self._entries and self._entries[name].obj is not obj:
                raise ValueError(f"{self.axis} {name!r} is registered twice")
            self._entries[name] = Entry(name, obj, help, meta, declare(*params))
            return obj
        return add

    def _load(self) -> dict[str, Entry]:
        if not self._loaded:
            self._loaded = True
            importlib.import_module(self._module)  # its decorators fill `_entries`
            plugins()
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

    def colour(self, name: str) -> str:
        """The one colour every chart, notebook and docs figure draws entry `name` in."""
        return self.get(name).meta.get("colour", "#555555")

    def params(self, name: str) -> tuple[Param, ...]:
        """The fields entry `name` declares."""
        return self.get(name).params

    def __contains__(self, name: object) -> bool:
        return name in self._load()

    def __iter__(self):
        return iter(self.names())


OBJECTIVES = Registry("objective", "dssl_lite.objectives")
TOPOLOGIES = Registry("topology", "dssl_lite.topologies")
DATASETS = Registry("dataset", "dssl_lite.data")
ENCODERS = Registry("model", "dssl_lite.models")


def import_all(package: str, path, first: tuple = ()) -> None:
    """Import every module of a parts folder (`first` in this order, then the rest by name), so
    a new part is one new file there."""
    import pkgutil

    names = [m.name for m in pkgutil.iter_modules(path) if not m.name.startswith("_")]
    for name in [*first, *sorted(n for n in names if n not in first)]:
        importlib.import_module(f"{package}.{name}")


def plugins() -> list[str]:
    """Import the modules named in `DSSL_PLUGINS` (comma-separated module names on the Python
    path): a part kept outside the package (an objective, a graph, a dataset in a file of one's
    own) registers itself there and is then a name like any other, in configs, the CLI, the
    explorer and the docs tables."""
    names = [m.strip() for m in os.environ.get("DSSL_PLUGINS", "").split(",") if m.strip()]
    for name in names:
        importlib.import_module(name)
    return names


def load_all() -> dict[str, Param]:
    """Every registry filled (so every part has declared its fields) -> `PARAMS`."""
    for r in (OBJECTIVES, TOPOLOGIES, DATASETS, ENCODERS):
        r._load()  # called on every config built: a flag test once all are filled
    return PARAMS
