"""One frozen, validated config that travels widget -> engine -> papermill -> saved results.

Every field is a plain value, so a config round-trips through JSON, YAML and papermill
parameters unchanged. Bad values raise `ConfigError`, which names the field and what is allowed;
the names a field may take (objectives, topologies, datasets, encoders) come from the registries.
"""
from __future__ import annotations

import functools
import hashlib
import json
import math
from dataclasses import dataclass, fields
from typing import Any, Optional

from .errors import ConfigError, short
from .registry import DATASETS, ENCODERS, OBJECTIVES, TOPOLOGIES, load_all

PROBES = ("knn", "linear")
DEVICES = ("auto", "cpu", "cuda")
SCHEDULES = ("constant", "cosine")
PRECISIONS = ("float32", "bfloat16")
STRATEGIES = ("auto", "vmap", "loop")
PARTITIONS = ("dirichlet", "dirichlet-balanced")
OPTIMIZER_STATES = ("keep", "fresh")
REFERENCES = ("fl-iid", "same-graph")
DECL_EVALS = ("average", "local-mean")
IID_WORDS = ("iid", "none", "inf", "+inf", ".inf", "infinity")  # alpha spellings that mean "no skew at all"


@dataclass(frozen=True, init=False)
class Config:
    """Everything that decides a run. Same config + same seed -> same numbers on CPU.

    The fields below are the ones every run has. A part (an objective, a topology) declares the
    fields only it reads where it is registered (`registry.Param`: `mask_ratio`, `mar_weight`,
    `mar_schedule` for the MIM and MAR objectives; `degree`, `gossip_steps`, `mixing` for gossip
    graphs; `participation` for FL): `Config(mask_ratio=0.5)`, `cfg.mask_ratio`, `as_dict()`,
    `--set`, grids and widgets treat them like any field, and a new part's field is one `Param`
    in its own file."""

    # data and partition
    dataset: str = "mnist5k"            # a registered dataset; see data.py
    image_size: int = 16                # pixels; images are resized once on load
    clients: int = 10                   # K
    alpha: Optional[float] = 0.1        # Dirichlet concentration; None = IID equal split
    min_client_size: int = 10           # a Dirichlet draw is repeated until every client has this many
    partition: str = "dirichlet"        # dirichlet (sizes vary) | dirichlet-balanced (as the paper's code: equal sizes)
    # communication (the topology's own fields: degree, gossip_steps, mixing, participation)
    topology: str = "fl"                # fl = FedAvg server; others = DecL gossip graphs; none = no talk
    # model and objective (the objective's own fields: mask_ratio, mar_weight, mar_schedule)
    objective: str = "mim"
    model: str = "vit_tiny"
    width: int = 64
    depth: int = 2
    heads: int = 4
    patch_size: int = 4
    # optimisation
    rounds: int = 30
    local_steps: int = 20
    batch_size: int = 32
    lr: float = 1e-3                    # peak learning rate (AdamW)
    lr_schedule: str = "constant"       # constant | cosine (decay to 0 over all local steps)
    warmup_steps: int = 0               # linear warm-up, in local steps
    weight_decay: float = 0.05
    optimizer_state: str = "keep"       # keep each client's AdamW moments | fresh (as the paper's code: a new AdamW each round)
    # evaluation
    probe: str = "knn"                  # which probe gives the headline accuracy
    knn_k: int = 20
    reference: str = "fl-iid"           # robustness against: fl-iid (FL's IID accuracy, one scale for every graph; the paper's code computes no ratio) | same-graph
    decl_eval: str = "average"          # DecL accuracy of: average (as the paper's code: the data-size-weighted average model) | local-mean
    seed: int = 0
    # execution: how the work runs. In a run's identity only through its resolved plan
    # (`plan.py`: device, strategy, and for a compiled call its chunk), except `precision`.
    precision: str = "float32"          # bfloat16 = autocast in the local step (moves the numbers)
    device: str = "auto"
    strategy: str = "auto"              # auto/vmap: clients vmapped in chunks; loop: the per-client oracle
    client_chunk: int = 0               # clients of a run per call; 0 = the device's rule (plan.py)
    compile: bool = False               # torch.compile each chunk's gradient (see docs/speed.md)
    # the parts' own fields that differ from their defaults, as sorted (name, value) pairs
    parts: tuple = ()

    def __init__(self, **values: Any):
        known = set(CORE)
        for name in CORE:
            object.__setattr__(self, name, values.pop(name, CORE[name]))
        params = load_all()
        for name in values:
            if name not in params:
                raise ConfigError(short(name).strip("'"), f"unknown field; allowed: {', '.join(field_names())}")
        object.__setattr__(self, "parts", tuple(sorted((k, v) for k, v in values.items() if v != params[k].default)))
        if isinstance(self.alpha, float) and self.alpha == math.inf:  # one meaning of infinity: IID
            object.__setattr__(self, "alpha", None)
        del known
        validate(self)

    def __getattr__(self, name: str) -> Any:
        """A part's own field: its value here, or its declared default."""
        if name.startswith("__") or name == "parts":
            raise AttributeError(name)
        params = load_all()
        if name not in params:
            raise AttributeError(f"Config has no field {name!r}")
        return dict(object.__getattribute__(self, "parts")).get(name, params[name].default)

    @property
    def iid(self) -> bool:
        return self.alpha is None

    @property
    def is_federated(self) -> bool:
        return TOPOLOGIES.get(self.topology).obj.federated

    def reads(self, name: str) -> bool:
        """Whether a part this config chose declares field `name` (it can move a number)."""
        return any(p.name == name for p in (*OBJECTIVES.params(self.objective), *TOPOLOGIES.params(self.topology)))

    def replace(self, **changes: Any) -> "Config":
        """A validated copy with some fields changed (unknown names are rejected)."""
        return from_dict({**self.as_dict(), **changes})

    def as_dict(self) -> dict:
        """Every field as a plain value: the common ones, then every part's (declared) field."""
        return {**{name: getattr(self, name) for name in CORE},
                **{name: getattr(self, name) for name in load_all()}}

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), sort_keys=True)

    def identity(self) -> dict:
        """What decides this config's numbers, canonically: the fields that differ from their
        defaults and that the chosen objective, graph and split read, plus the resolved execution
        plan. Runtime choices that cannot move a number (the `auto` device alias, chunking) are
        not in it, so `device="auto"` and the device it resolves to are one identity, and a new
        field added with a default leaves every existing identity unchanged."""
        defaults, unused = default_values(), self.unused_fields()
        d = {k: v for k, v in self.as_dict().items() if k not in RUNTIME and v != defaults[k] and k not in unused}
        d["plan"] = self.plan()
        return d

    @functools.cached_property
    def _key(self) -> str:
        return hashlib.sha256(json.dumps(self.identity(), sort_keys=True).encode()).hexdigest()[:16]

    def key(self) -> str:
        """A short canonical hash of `identity()`: equal keys, equal numbers (on one machine)."""
        return self._key

    def train_key(self) -> str:
        """The key of what is trained: the identity without the headline choices (`VIEWS`),
        which only pick among numbers every run records."""
        return self.replace(**{k: CORE[k] for k in VIEWS}).key()

    def unused_fields(self) -> set:
        """Fields this config's objective, topology and split never read (their values cannot
        matter): `mask_ratio` for CL, `degree` for a ring, `min_client_size` for an IID split."""
        out = {name for name in load_all() if not self.reads(name)}
        if self.is_federated:
            out |= set(VIEWS)  # FL is its own fl-iid reference, and has no DecL evaluation
        if self.iid:
            out |= {"min_client_size", "partition"}  # every IID split is the same equal random split
        return out

    def plan(self) -> dict:
        """The resolved execution plan, as far as it can move a number (`plan.Plan.identity`)."""
        from .plan import resolve

        return resolve(self).identity()


CORE = {f.name: f.default for f in fields(Config) if f.name != "parts"}  # the fields every run has


def field_names() -> tuple[str, ...]:
    """Every config field: the common ones and every registered part's."""
    return (*CORE, *load_all())


def default_values() -> dict:
    return {**CORE, **{name: p.default for name, p in load_all().items()}}


# How the work runs: in the identity only through the resolved plan (`plan()`), so that the
# `auto` device and the device it resolves to, or a chunking that moves no number, are one run.
RUNTIME = ("device", "strategy", "client_chunk", "compile")
# Fields that choose which of a run's recorded numbers is the headline (every result records all
# of them): configs that differ only here are one training (`Config.train_key`).
VIEWS = ("reference", "decl_eval")
# Fields a stored config may still carry from older versions, with the one value they may have.
LEGACY = {"eval_every": 0}
# Fields that may differ between runs stacked on one client axis (see simulator.py).
STACKABLE = ("alpha", "seed", "min_client_size", "topology", "degree", "gossip_steps")


def stack_key(c: Config) -> str:
    """Runs with equal keys can be trained together in one vmapped step."""
    d = {k: v for k, v in c.as_dict().items() if k not in STACKABLE}
    d["aggregate"] = TOPOLOGIES.get(c.topology).obj.aggregate.__name__  # one aggregator per stack
    return json.dumps(d, sort_keys=True)


def _choice(name, value, allowed):
    if not isinstance(value, str) or value not in allowed:
        raise ConfigError(name, f"got {short(value)}; allowed: {', '.join(map(str, allowed))}")


def _int_range(name, value, lo, hi=None):
    if isinstance(value, bool) or not isinstance(value, int) or value < lo or (hi is not None and value > hi):
        rng = f"an integer >= {lo}" if hi is None else f"an integer in [{lo}, {hi}]"
        raise ConfigError(name, f"got {short(value)}; allowed: {rng}")


def _float_range(name, value, lo, hi, lo_open=False):
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value == value
    ok = ok and (value > lo if lo_open else value >= lo) and value <= hi
    if not ok:
        bracket = "(" if lo_open else "["
        raise ConfigError(name, f"got {short(value)}; allowed: a number in {bracket}{lo}, {hi}]")


def _declared_by(param) -> str:
    """`topology is fl`: which parts read a field."""
    for registry in (TOPOLOGIES, OBJECTIVES):
        who = [n for n in registry.names() if param in registry.params(n)]
        if who:
            return f"{registry.axis} is {' or '.join(who)}"
    return "a part reads it"


def validate(c: Config) -> None:
    """Raise ConfigError naming the first bad field. Everything that can be known before any work
    starts is checked here, graph feasibility included."""
    _choice("dataset", c.dataset, DATASETS.names())
    _int_range("image_size", c.image_size, 8, 64)
    _int_range("clients", c.clients, 2, 100000)
    if c.alpha is not None:
        _float_range("alpha", c.alpha, 0.0, 1e4, lo_open=True)
    _int_range("min_client_size", c.min_client_size, 1, 100000)
    _choice("partition", c.partition, PARTITIONS)
    _choice("topology", c.topology, TOPOLOGIES.names())
    _choice("objective", c.objective, OBJECTIVES.names())
    for name, param in load_all().items():  # every part's field, read or not, is in its range
        value = getattr(c, name)
        param.check(value)
        if param.strict and value != param.default and not c.reads(name):
            raise ConfigError(name, f"got {short(value)}; allowed: {param.default:g} unless {_declared_by(param)}")
    graph = TOPOLOGIES.get(c.topology).obj
    if c.reads("degree") and (why := graph.check(c.clients, c.degree)):
        raise ConfigError("degree", why)
    _choice("model", c.model, ENCODERS.names())
    _int_range("width", c.width, 8, 1024)
    _int_range("depth", c.depth, 1, 24)
    _int_range("heads", c.heads, 1, 32)
    if c.width % c.heads:
        raise ConfigError("heads", f"width {c.width} must be divisible by heads; got {c.heads}")
    _int_range("patch_size", c.patch_size, 1, 16)
    if c.image_size % c.patch_size:
        raise ConfigError("patch_size", f"must divide image_size {c.image_size}; got {c.patch_size}")
    if ENCODERS.get(c.model).meta.get("power_of_two_patch") and c.patch_size & (c.patch_size - 1):
        raise ConfigError("patch_size", f"{c.model} needs a power of two; got {c.patch_size}")
    _int_range("rounds", c.rounds, 1, 100000)
    _int_range("local_steps", c.local_steps, 1, 100000)
    _int_range("batch_size", c.batch_size, 4, 4096)
    _float_range("lr", c.lr, 0.0, 10.0, lo_open=True)
    _choice("lr_schedule", c.lr_schedule, SCHEDULES)
    _int_range("warmup_steps", c.warmup_steps, 0, c.rounds * c.local_steps)
    _float_range("weight_decay", c.weight_decay, 0.0, 10.0)
    _choice("optimizer_state", c.optimizer_state, OPTIMIZER_STATES)
    _choice("probe", c.probe, PROBES)
    _int_range("knn_k", c.knn_k, 1, 1000)
    _choice("reference", c.reference, REFERENCES)
    _choice("decl_eval", c.decl_eval, DECL_EVALS)
    _int_range("seed", c.seed, 0, 2**31 - 1)
    _choice("device", c.device, DEVICES)
    _choice("precision", c.precision, PRECISIONS)
    _choice("strategy", c.strategy, STRATEGIES)
    _int_range("client_chunk", c.client_chunk, 0)
    if not isinstance(c.compile, bool):
        raise ConfigError("compile", f"got {short(c.compile)}; allowed: true, false")


def _coerce(name: str, value: Any) -> Any:
    """Accept the spellings a CLI, YAML file or widget produce ("iid", "0.1", 3.0 for 3), and no
    others: a boolean is never a number, and infinity means IID wherever it comes from."""
    if name == "alpha":
        if value is None or (isinstance(value, str) and value.strip().lower() in IID_WORDS):
            return None
        if isinstance(value, bool):
            raise ConfigError("alpha", f"got {value!r}; allowed: a number > 0 or 'iid'")
        try:
            value = float(value)
        except (TypeError, ValueError, OverflowError):  # 10**400 has no float
            raise ConfigError("alpha", f"got {short(value)}; allowed: a number > 0 or 'iid'") from None
        return None if math.isinf(value) and value > 0 else value
    default = default_values()[name]
    if isinstance(default, bool):
        if isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
            return value.lower() in ("true", "1")
        return value
    if isinstance(value, bool):  # True is an int to Python, not to us
        return value
    if isinstance(default, int):
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                return int(value)
            except ValueError:
                return value
    if isinstance(default, float) and isinstance(value, (int, str)):
        try:
            return float(value)
        except (ValueError, OverflowError):
            return value
    return value


def from_dict(d: Any, base: Optional[Config] = None) -> Config:
    """Build a Config from plain values on top of `base` (defaults); unknown keys are an error."""
    if not isinstance(d, dict) or not all(isinstance(k, str) for k in d):
        raise ConfigError("config", f"got {short(d)}; allowed: a mapping of field names to values")
    d = dict(d)
    for k, only in LEGACY.items():  # a field that no longer exists, at the value that meant nothing
        if k in d and d.pop(k) != only:
            raise ConfigError(k, "no longer a field (it was never read); allowed: leave it out")
    if "vectorized" in d:  # the per-client loop oracle is now `strategy: loop`
        legacy = d.pop("vectorized")
        word = legacy.strip().lower() if isinstance(legacy, str) else legacy
        if not (isinstance(word, bool) or word in ("true", "false")):
            raise ConfigError("vectorized", f"got {short(legacy)}; allowed: true, false (or use strategy: "
                              f"{', '.join(STRATEGIES)})")
        if word in (False, "false"):
            d.setdefault("strategy", "loop")
    names = field_names()
    unknown = sorted(set(d) - set(names))
    if unknown:
        raise ConfigError(short(unknown[0]).strip("'"), f"unknown field; allowed: {', '.join(names)}")
    values = (base or Config()).as_dict()
    values.update({k: _coerce(k, v) for k, v in d.items()})
    return Config(**values)

