"""One frozen, validated config that travels widget -> engine -> papermill -> saved results.

Every field is a plain value, so a config round-trips through JSON, YAML and papermill
parameters unchanged. Bad values raise `ConfigError`, which names the field and what is allowed;
the names a field may take (objectives, topologies, datasets, encoders) come from the registries.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass, fields
from typing import Any, Optional

from .errors import ConfigError, short
from .registry import DATASETS, ENCODERS, OBJECTIVES, TOPOLOGIES

PROBES = ("knn", "linear")
DEVICES = ("auto", "cpu", "cuda")
SCHEDULES = ("constant", "cosine")
PRECISIONS = ("float32", "bfloat16")
STRATEGIES = ("auto", "vmap", "loop")
PARTITIONS = ("dirichlet", "dirichlet-balanced")
MIXINGS = ("metropolis", "size")
MAR_SCHEDULES = ("cosine", "constant")
OPTIMIZER_STATES = ("keep", "fresh")
REFERENCES = ("fl-iid", "same-graph")
DECL_EVALS = ("average", "local-mean")
IID_WORDS = ("iid", "none", "inf", "+inf", ".inf", "infinity")  # alpha spellings that mean "no skew at all"


@dataclass(frozen=True)
class Config:
    """Everything that decides a run. Same config + same seed -> same numbers on CPU."""

    # data and partition
    dataset: str = "mnist5k"            # a registered dataset; see data.py
    image_size: int = 16                # pixels; images are resized once on load
    clients: int = 10                   # K
    alpha: Optional[float] = 0.1        # Dirichlet concentration; None = IID equal split
    min_client_size: int = 10           # a Dirichlet draw is repeated until every client has this many
    partition: str = "dirichlet"        # dirichlet (sizes vary) | dirichlet-balanced (as the paper's code: equal sizes)
    # communication
    topology: str = "fl"                # fl = FedAvg server; others = DecL gossip graphs; none = no talk
    degree: int = 2                     # node degree (regular) / expected degree (erdos_renyi)
    gossip_steps: int = 1               # mixing steps per round (DecL)
    mixing: str = "metropolis"          # DecL weights: metropolis | size (as the paper's code: a node and its neighbours by data size)
    participation: float = 1.0          # FL: fraction of clients sampled each round
    # model and objective
    objective: str = "mim"
    model: str = "vit_tiny"
    width: int = 64
    depth: int = 2
    heads: int = 4
    patch_size: int = 4
    mask_ratio: float = 0.75            # MIM / MAR
    mar_weight: float = 0.1             # MAR: alignment weight (mar: its annealed start value)
    mar_schedule: str = "cosine"        # MAR's weight: cosine (as the paper's code anneals it) | constant
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
    # execution
    seed: int = 0
    device: str = "auto"
    precision: str = "float32"          # bfloat16 = autocast in the local step
    strategy: str = "auto"              # auto/vmap: clients vmapped in chunks; loop: the per-client oracle
    client_chunk: int = 0               # clients of a run per call; 0 = the device's rule (plan.py)
    compile: bool = False               # torch.compile each chunk's gradient (long runs; see docs/speed.md)

    def __post_init__(self):
        if isinstance(self.alpha, float) and self.alpha == math.inf:  # one meaning of infinity: IID
            object.__setattr__(self, "alpha", None)
        validate(self)

    @property
    def iid(self) -> bool:
        return self.alpha is None

    @property
    def is_federated(self) -> bool:
        return TOPOLOGIES.get(self.topology).obj.federated

    def replace(self, **changes: Any) -> "Config":
        """A validated copy with some fields changed (unknown names are rejected)."""
        return from_dict({**self.as_dict(), **changes})

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), sort_keys=True)

    def identity(self) -> dict:
        """What decides this config's numbers, canonically: the fields that differ from their
        defaults and that the chosen objective, graph and split read, plus the resolved execution
        plan. Runtime choices that cannot move a number (the `auto` device alias, chunking) are
        not in it, so `device="auto"` and the device it resolves to are one identity, and a new
        field added with a default leaves every existing identity unchanged."""
        defaults = {f.name: f.default for f in fields(self)}
        d = {k: v for k, v in self.as_dict().items()
             if k not in RUNTIME and v != defaults[k] and k not in self.unused_fields()}
        d["plan"] = self.plan()
        return d

    def key(self) -> str:
        """A short canonical hash of `identity()`: equal keys, equal numbers (on one machine)."""
        return hashlib.sha256(json.dumps(self.identity(), sort_keys=True).encode()).hexdigest()[:16]

    def train_key(self) -> str:
        """The key of what is trained: the identity without the headline choices (`VIEWS`),
        which only pick among numbers every run records."""
        return self.replace(**{k: DEFAULTS_OF[k] for k in VIEWS}).key()

    def unused_fields(self) -> set:
        """Fields this config's objective, topology and split never read (their values cannot
        matter): `mask_ratio` for CL, `degree` for a ring, `min_client_size` for an IID split."""
        out = set(OBJECTIVE_FIELDS) - set(OBJECTIVES.get(self.objective).obj.fields)
        graph = TOPOLOGIES.get(self.topology).obj
        if not graph.uses_degree:
            out.add("degree")
        if graph.federated:
            out |= {"gossip_steps", "mixing", "decl_eval", "reference"}  # FL is its own fl-iid reference
        elif self.topology == "none":
            out |= {"gossip_steps", "mixing"}
        if self.iid:
            out |= {"min_client_size", "partition"}  # every IID split is the same equal random split
        return out

    def plan(self) -> dict:
        """The resolved execution plan, as far as it can move a number (`plan.Plan.identity`)."""
        from .plan import resolve

        return resolve(self).identity()


FIELD_NAMES = tuple(f.name for f in fields(Config))
DEFAULTS_OF = {f.name: f.default for f in fields(Config)}
# How the work runs: in the identity only through the resolved plan (`plan()`), so that the
# `auto` device and the device it resolves to, or a chunking that moves no number, are one run.
RUNTIME = ("device", "strategy", "client_chunk", "compile")
OBJECTIVE_FIELDS = ("mask_ratio", "mar_weight", "mar_schedule")  # read only by objectives listing them in `fields`
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
    graph = TOPOLOGIES.get(c.topology).obj
    _int_range("degree", c.degree, 1)
    if graph.uses_degree and (why := graph.check(c.clients, c.degree)):
        raise ConfigError("degree", why)
    _int_range("gossip_steps", c.gossip_steps, 1, 100)
    _choice("mixing", c.mixing, MIXINGS)
    _float_range("participation", c.participation, 0.0, 1.0, lo_open=True)
    if c.participation < 1 and not graph.federated:
        raise ConfigError("participation", f"got {c.participation}; allowed: 1 unless topology is fl "
                          "(gossip clients all take part)")
    _choice("objective", c.objective, OBJECTIVES.names())
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
    _float_range("mask_ratio", c.mask_ratio, 0.0, 0.95, lo_open=True)
    _float_range("mar_weight", c.mar_weight, 0.0, 1e4)
    _choice("mar_schedule", c.mar_schedule, MAR_SCHEDULES)
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
    default = Config.__dataclass_fields__[name].default
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
    unknown = sorted(set(d) - set(FIELD_NAMES))
    if unknown:
        raise ConfigError(short(unknown[0]).strip("'"), f"unknown field; allowed: {', '.join(FIELD_NAMES)}")
    values = (base or Config()).as_dict()
    values.update({k: _coerce(k, v) for k, v in d.items()})
    return Config(**values)


# Named presets: small dicts of overrides on the defaults. `paper` is a paper-scale setting for a GPU
# on the paper's code's definitions (its minimum-degree-10 graph, data-size mixing, balanced split,
# fresh AdamW, alpha 0.1) but not its model or data: a ViT 192 wide, 12 deep at 32 px on CIFAR-10
# with a linear probe and all 20 clients every round, where the code pre-trains a ViT 320 wide, 9
# deep at 224 px on Mini-ImageNet, samples 5 of 100 clients in FL and fine-tunes.
PRESETS: dict[str, dict] = {
    "default": {},
    # The lesson scale: the explorer's, the demo's and notebooks 03-06's default. The smallest
    # measured scale at which finding 1 shows on five seeds (docs/fidelity.md, the regime map):
    # 600 local steps (60 rounds x 10) of a one-block ViT on digits, 10 clients, alpha 0.01 (about
    # one class per client). Compiled (torch.compile): about twice as fast as eager on CPU, with
    # numbers of its own (the plan is part of every key). Its DecL graphs gossip with the paper's
    # data-size weights.
    "live": dict(dataset="digits", clients=10, alpha=0.01, rounds=60, local_steps=10, batch_size=16,
                 depth=1, lr=2e-3, mixing="size", compile=True),
    # The same model at half the training (300 local steps), eager: quick enough for tests and CI,
    # and the scale of the earlier atlases (`live-short*.csv`). Finding 1 is inside the seed noise here.
    "live-short": dict(dataset="digits", clients=10, alpha=0.01, rounds=30, local_steps=10, batch_size=16,
                       depth=1, lr=2e-3, mixing="size"),
    "tiny": dict(rounds=2, local_steps=2, clients=4, batch_size=8, width=32, depth=1, heads=2),
    # Teaching presets, one per finding: one run (non-IID + IID baseline) stays under 2 minutes on
    # 2 CPU cores. 16 clients (250 images each, ~1-3 classes at alpha 0.1) cost little more than
    # 4: a vmapped step is overhead-bound. The linear probe, because at this training length
    # MIM's kNN accuracy sits at the random floor. 1, 3 and 4 share every value but the objective,
    # so `reproduce` trains their MIM/CL runs once.
    "teach-mim-vs-cl": dict(clients=16, alpha=0.1, rounds=12, local_steps=5, lr=2e-3, probe="linear"),
    "teach-connectivity": dict(clients=16, alpha=0.1, rounds=12, local_steps=5, lr=2e-3, probe="linear",
                               topology="ring"),
    "teach-mar": dict(clients=16, alpha=0.1, rounds=12, local_steps=5, lr=2e-3, probe="linear",
                      objective="mar"),
    "teach-features": dict(clients=16, alpha=0.1, rounds=12, local_steps=5, lr=2e-3, probe="linear",
                           objective="cl"),
    # Long enough for every arm to clear the random-encoder floor (600 local steps): minutes, not
    # seconds (docs/fidelity.md has the measured times).
    "teach-long": dict(clients=10, alpha=0.1, rounds=60, local_steps=10, lr=1e-3, probe="knn"),
    # The paper's definitions at CPU scale (the embedded MNIST, the live model): its balanced
    # Dirichlet split, a new AdamW every round, averaged-model evaluation, one IID FL reference.
    # FL samples 5 of 100 clients per round, each training about 2 local epochs (5 steps of 16 on
    # ~40 images); DecL gossips on the paper's graph (a random tree, then edges until every client
    # has 10 neighbours) with data-size weights, as its readme's DecL run (20 clients, alpha 0.01).
    "paper-like": dict(clients=100, participation=0.05, alpha=0.1, partition="dirichlet-balanced",
                       optimizer_state="fresh", rounds=100, local_steps=5, batch_size=16, depth=1, lr=2e-3),
    "paper-like-decl": dict(clients=20, topology="min_degree", degree=10, mixing="size", alpha=0.01,
                            partition="dirichlet-balanced", optimizer_state="fresh", rounds=30,
                            local_steps=10, batch_size=16, depth=1, lr=2e-3),
    "paper": dict(dataset="cifar10", image_size=32, clients=20, topology="min_degree", degree=10, mixing="size",
                  alpha=0.1, partition="dirichlet-balanced", optimizer_state="fresh", model="vit_tiny",
                  width=192, depth=12, heads=3, patch_size=4, rounds=100, local_steps=50, batch_size=64,
                  lr=1.5e-4, probe="linear"),
}
# One paper-scale preset per finding (GPU, CIFAR-10, 20 clients, degree 10, alpha 0.1, ViT); the
# harness sweeps objective / topology itself, so they differ only in the arm they start from.
_PAPER = PRESETS["paper"]
PRESETS.update({
    "paper-mim-vs-cl": dict(_PAPER, topology="fl"),
    "paper-connectivity": dict(_PAPER),
    "paper-mar": dict(_PAPER, topology="fl", objective="mar"),
    "paper-features": dict(_PAPER, topology="fl", objective="cl"),
})


def preset(name: str, **overrides: Any) -> Config:
    """A named preset with optional overrides, validated."""
    if name not in PRESETS:
        raise ConfigError("preset", f"got {short(name)}; allowed: {', '.join(PRESETS)}")
    return from_dict({**PRESETS[name], **overrides})
