"""The draft: the config being edited, one typed trait per field the page edits.

Controls `link` to these traits (traitlets' two-way binding, no echo flags); the fields the page
does not edit (dataset, model, schedule) ride along in `base`. Every field a registered part
declares (`registry.Param`: `degree`, `participation`, `mask_ratio`, `mar_weight`, ...) is a trait
too, so a new part's field is on the draft, and on the page, without editing this file. Rules
that keep a draft sensible are validators here; whether a draft can be trained is `from_dict`'s
and `federation.feasible`'s to say, in the model.

    >>> d = Draft(preset("live")); d.alpha = 0.1; d.config().alpha
    0.1
"""
from __future__ import annotations

from typing import Any

import traitlets as T

from dssl_lite.config import Config, ConfigError, from_dict
from dssl_lite.registry import TOPOLOGIES, Param, load_all

COMMON = ("alpha", "topology", "objective", "clients", "rounds", "seed", "reference")
TRAITS = {bool: T.Bool, int: T.Int, float: T.Float, str: T.Unicode}


def part_params() -> dict[str, Param]:
    """Every field a registered part declares, by name."""
    return dict(load_all())


class Draft(T.HasTraits):
    """See the module. `values()` is the draft as plain config values (possibly invalid), and
    `config()` the validated `Config` (ConfigError naming the field otherwise)."""

    base = T.Instance(Config)             # the fields the page does not edit
    iid = T.Bool(False)                   # alpha = None: an IID split
    alpha = T.Float(0.1)                  # kept while `iid`, so unticking IID returns to it
    topology = T.Unicode("fl")
    objective = T.Unicode("mim")
    clients = T.Int(10)
    rounds = T.Int(30)
    seed = T.Int(0)
    reference = T.Unicode("fl-iid")
    notice = T.Unicode("")                # what a rule changed, in words ("" when nothing)

    def __init__(self, cfg: Config):
        super().__init__()
        self.add_traits(**{p.name: TRAITS[p.kind](p.default) for p in part_params().values()
                           if not self.has_trait(p.name)})
        self.load(cfg)

    @property
    def fields(self) -> tuple[str, ...]:
        """The config fields this draft edits: the common ones, then every part's."""
        return (*COMMON, *part_params())

    def load(self, cfg: Config) -> None:
        """Every field from `cfg` at once (observers hear of it after the last one is set)."""
        with self.hold_trait_notifications():
            self.base = cfg
            self.iid = cfg.alpha is None
            for name in self.fields:
                value = getattr(cfg, name)
                if value is not None:
                    setattr(self, name, value)

    def values(self) -> dict[str, Any]:
        """The draft as plain config values (what `from_dict` takes)."""
        out = {**self.base.as_dict(), **{name: getattr(self, name) for name in self.fields}}
        out["alpha"] = None if self.iid else self.alpha
        return out

    def config(self) -> Config:
        """The draft validated (ConfigError names the field that is not allowed)."""
        return from_dict(self.values())

    @T.validate("topology")
    def _everyone_takes_part_on_a_graph(self, proposal) -> str:
        """Sampling clients is FL's: a draft moved from FL at participation < 1 to a graph takes
        participation 1 and says so, instead of an error about a control a graph hides."""
        new = proposal["value"]
        try:
            graph = not TOPOLOGIES.get(new).obj.federated
        except ConfigError:
            return new  # from_dict names the bad topology
        share = getattr(self, "participation", 1.0)
        if graph and share < 1:
            self.participation = 1.0
            self.notice = f"participation set from {share:g} to 1: on a graph every client takes part (sampling is FL's)"
        return new
