"""What the atlas measured, for the explorer: the curves through a setting (drawn before any Run)
and a finished run held against the atlas rows of its own setting."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from dssl_lite.config import Config, from_dict
from dssl_lite.federation import Federation


@dataclass
class Setting:
    """What the cheap charts draw for one config: its `Federation` (the very object the simulator
    trains on) and the atlas's measured curves through it. No model, no training (milliseconds)."""

    config: Config
    federation: Federation
    atlas: dict = field(default_factory=dict)  # objective -> x axis -> measured curve through this setting

    parts = property(lambda self: self.federation.parts)
    histogram = property(lambda self: self.federation.histogram)
    adjacency = property(lambda self: self.federation.adjacency)
    sizes = property(lambda self: self.federation.sizes)
    heterogeneity = property(lambda self: self.federation.heterogeneity)
    spectral_gap = property(lambda self: self.federation.spectral_gap)
    average_degree = property(lambda self: self.federation.average_degree)

    @property
    def metropolis_gap(self) -> float:
        """The spectral gap the same graph would have with Metropolis weights (notebook 02's rule):
        on a DecL graph mixing by data size, the two differ, and saying both explains why."""
        from dssl_lite.topologies import metropolis_weights, spectral_gap

        return spectral_gap(metropolis_weights(self.adjacency))


def atlas_curves(cfg: Config, preset_name: str) -> dict:
    """The shipped atlas's curves through `cfg` along alpha and along the graphs (empty frames
    when the preset has no atlas or the setting was not measured)."""
    from dssl_lite import atlas

    table = atlas.shipped(preset_name)
    return {x: atlas.curve(table, cfg, x) for x in ("alpha", "degree")}


def setting(cfg: Config, preset_name: str = "", objectives=()) -> Setting:
    """Partition and graph of `cfg` (the simulator's own cached `Federation`) and, per objective
    on the chart (and `cfg`'s own), the atlas's curves through the same setting."""
    curves = {o: atlas_curves(cfg.replace(objective=o), preset_name)
              for o in dict.fromkeys([*objectives, cfg.objective])} if preset_name else {}
    return Setting(cfg, Federation.from_config(cfg), curves)


def against_atlas(point) -> str:
    """One finished `Point` against the shipped atlas rows of its setting: seed by seed where the
    atlas has the run's seeds ("reproduces the atlas to the last digit", or the difference);
    otherwise against the 95 % prediction interval for the mean of that many seeds."""
    from dssl_lite import atlas
    from dssl_lite.stats import prediction_interval

    cfg = from_dict(point.config)
    key = cfg.replace(seed=0).train_key()
    col = {"fl-iid": "robustness_fl_iid", "same-graph": "robustness_same_graph"}[cfg.reference]
    table = atlas.everything()
    rows = table[table["setting"] == key] if len(table) else table
    if not len(rows):
        return "the atlas has not measured this setting."
    by_seed = dict(zip(rows["seed"].astype(int), rows[col].astype(float)))
    here = atlas.machine() in [m for f in set(rows["source"]) for m in atlas.built_on(atlas.SHIPPED / f)]
    mine = {r.seed: r.metrics.get(col, r.robustness) for r in point.runs}
    shared = [s for s in mine if s in by_seed]
    if shared:
        worst = max(atlas.difference(mine[s], by_seed[s]) for s in shared)
        seeds = f"seed{'s' if len(shared) > 1 else ''} {', '.join(map(str, shared))}"
        if worst <= atlas.TOLERANCE:
            return f"{seeds}: reproduces the atlas to the last digit."
        where = "" if here else " (the atlas was built on another CPU, where the last digits differ)"
        return f"{seeds}: differs from the atlas by up to {worst:.4f}{where}."
    vals = list(by_seed.values())
    m, n = len(vals), len(mine)
    mean, sd = float(sum(vals) / m), float(np.std(vals, ddof=1)) if m > 1 else math.nan
    lo, hi = prediction_interval(mean, sd, m, n)
    if not math.isfinite(lo):
        return f"the atlas has one seed here ({mean:.3f}): too few to say what to expect."
    inside = lo <= point.robustness <= hi
    return (f"the atlas ({m} other seeds): the mean of {n} new seed{'s' if n > 1 else ''} should fall in "
            f"[{lo:.3f}, {hi:.3f}] (95 %); this run's {point.robustness:.3f} "
            + ("does." if inside else "does not: that happens 1 time in 20 by chance; check the setting."))


def compared(results: list) -> str:
    """The last point in words: against the atlas's measurement of the same setting (seed by seed
    where the atlas has the run's seeds, else the 95 % prediction interval for the mean of that
    many seeds), then against the point before (paired by seed)."""
    from .points import describe

    if not results:
        return ""
    last, out = results[-1], [against_atlas(results[-1])]
    if len(results) > 1:
        prev = results[-2]
        out.append(f"vs the previous setting ({describe(prev.config)}): {last.compare(prev)}")
    return " ".join(o for o in out if o)
