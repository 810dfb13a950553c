"""`dssl-lite demo`: the main job on the embedded default, as one table a new user can read.

Each objective at one setting (the `live` preset: alpha 0.01, where CL loses most), every seed
beside its IID baseline, the random-encoder floor, and finding 1's verdict on the MIM - CL
difference (`findings.analyse`), so the table says plainly whether the effect showed.
"""
from __future__ import annotations

from typing import Callable, Optional, Sequence

import numpy as np

from .config import Config
from .findings import FINDINGS, analyse
from .report import interval
from .runs import get_or_run
from .stats import at_floor, spread


def demo(base: Config, objectives: Sequence[str], seeds: int = 1, progress: Optional[Callable] = None,
         store=None) -> str:
    seed_list = list(range(base.seed, base.seed + seeds))
    cfgs = [base.replace(objective=o, seed=s) for o in objectives for s in seed_list]
    bar = progress(len(cfgs), "runs") if progress else None
    rows = get_or_run(cfgs, store, on_group=(lambda i, n, s: bar.update(1)) if bar else None)
    if bar:
        bar.close()
    floor = float(rows["floor"].mean())
    alpha = "IID" if base.alpha is None else f"alpha={base.alpha:g}"
    pm = lambda v: f"{np.mean(v):.3f}" + (f" +- {spread(v):.3f}" if len(v) > 1 else "")
    lines = [f"dssl-lite demo: {base.dataset}, {base.clients} clients, {base.topology}, {alpha}, "
             f"{base.rounds} rounds x {base.local_steps} local steps, {base.probe} probe, "
             f"{seeds} seed{'s' if seeds > 1 else ''}",
             f"{'objective':<10}{'accuracy':>16}{'IID accuracy':>16}{'robustness':>16}{'seconds':>9}"]
    for obj in objectives:
        g = rows[rows["objective"] == obj]
        lines.append(f"{obj:<10}{pm(g['accuracy']):>16}{pm(g['iid_accuracy']):>16}"
                     f"{pm(g['robustness']):>16}{g['seconds'].mean():>9.1f}")
    lines.append("robustness = accuracy(non-IID) / accuracy(IID); 1.0 = nothing lost to non-IID data; "
                 f"+- = 1 sd over seeds. Untrained encoder (the floor): {floor:.3f}.")
    for obj in objectives:
        iid = float(rows[rows["objective"] == obj]["iid_accuracy"].mean())
        if at_floor(iid, floor):
            lines.append(f"{obj} collapsed: its IID accuracy ({iid:.3f}) is at the floor, so its ratio means nothing.")
    if "mim" in objectives and "cl" in objectives and base.alpha is not None:
        labelled = rows.assign(arm=[f"{o} a={base.alpha:g}" for o in rows["objective"]])
        h = analyse(FINDINGS[1], labelled).headline
        lines.append(f"{h['comparison']} robustness: {interval(h)}: {h['verdict']} "
                     f"(the paper: MIM more robust than CL)")
    return "\n".join(lines)
