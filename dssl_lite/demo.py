"""`dssl-lite demo`: the main job on the embedded default, as one table a new user can read.

Each objective at one setting (the `live` preset: alpha 0.01, where CL loses most), every seed
beside its IID baseline, the random-encoder floor, a warning for any objective that collapsed,
and finding 1 judged on these runs (`findings`): the statistic, its interval and the verdict, with
the setting and seeds named, beside the finding's judgement on the shipped atlas.
"""
from __future__ import annotations

from typing import Callable, Optional, Sequence

import numpy as np

from . import atlas
from .config import Config
from .findings import FINDINGS, judgement
from .runs import get_or_run
from .stats import at_floor, spread


def configs(base: Config, objectives: Sequence[str], seeds: int = 1) -> list[Config]:
    """The demo's runs: each objective at `base`'s setting, seeds `base.seed` onwards."""
    return [base.replace(objective=o, seed=s) for o in objectives for s in range(base.seed, base.seed + seeds)]


def demo(base: Config, objectives: Sequence[str], seeds: int = 1, progress: Optional[Callable] = None,
         store=None) -> str:
    cfgs = configs(base, objectives, seeds)
    atlas.lend_baselines(cfgs)  # IID references measured on this CPU to the last digit: not trained again
    bar = progress(len(cfgs), "runs") if progress else None
    rows = get_or_run(cfgs, store, on_group=(lambda i, n, s: bar.update(1)) if bar else None)
    if bar:
        bar.close()
    return table(rows, base, objectives, seeds)


def table(rows, base: Config, objectives: Sequence[str], seeds: int, seconds: bool = True) -> str:
    """The demo's table from rows of the runs table (trained now, or read from an atlas: the
    README's block is this table on the shipped atlas's rows, which a test re-trains, without
    the seconds, which depend on the machine and its load)."""
    floor = float(rows["floor"].mean())
    alpha = "IID" if base.alpha is None else f"alpha={base.alpha:g}"
    pm = lambda v: f"{np.mean(v):.3f}" + (f" +- {spread(v):.3f}" if len(v) > 1 else "")
    lines = [f"dssl-lite demo: {base.dataset}, {base.clients} clients, {base.topology}, {alpha}, "
             f"{base.rounds} rounds x {base.local_steps} local steps, {base.probe} probe, "
             f"{seeds} seed{'s' if seeds > 1 else ''}",
             f"{'objective':<10}{'accuracy':>16}{'IID accuracy':>16}{'robustness':>16}" + (f"{'seconds':>9}" if seconds else "")]
    for obj in objectives:
        g = rows[rows["objective"] == obj]
        lines.append(f"{obj:<10}{pm(g['accuracy']):>16}{pm(g['iid_accuracy']):>16}"
                     f"{pm(g['robustness']):>16}" + (f"{g['seconds'].mean():>9.1f}" if seconds else ""))
    lines.append("robustness = accuracy(non-IID) / accuracy(IID); 1.0 = nothing lost to non-IID data; "
                 f"+- = 1 sd over seeds. Untrained encoder (the floor): {floor:.3f}.")
    for obj in objectives:
        iid = float(rows[rows["objective"] == obj]["iid_accuracy"].mean())
        if at_floor(iid, floor):
            lines.append(f"{obj} collapsed: its IID accuracy ({iid:.3f}) is at the floor, so its ratio means nothing.")
    if "mim" in objectives and "cl" in objectives:
        mine = FINDINGS[1].judge(base, rows)
        lines.append(f"Finding 1 on these runs: {mine.sentence()}")
        lines.append(f"Finding 1 on the shipped atlas (`dssl-lite findings`): {judgement(1).sentence()}")
    return "\n".join(lines)
