"""`dssl-lite demo`: the main job on the embedded default, as one table a new user can read.

Each objective at one setting (the `live` preset: alpha 0.01, where CL loses most), every seed
beside its IID baseline, the random-encoder floor, and a sentence on the MIM - CL difference with
its paired interval, so the table says plainly whether the effect showed.
"""
from __future__ import annotations

from typing import Callable, Optional, Sequence

import numpy as np

from .config import Config
from .findings import floor as random_encoder_floor
from .experiment import run_seeds
from .stats import describe_difference, paired_difference


def demo(base: Config, objectives: Sequence[str], seeds: int = 1,
         progress: Optional[Callable] = None) -> str:
    bar = progress(len(objectives) * seeds, "runs") if progress else None
    rows = {}
    for obj in objectives:
        rows[obj] = run_seeds(base.replace(objective=obj), range(base.seed, base.seed + seeds))
        if bar:
            bar.update(seeds)
    if bar:
        bar.close()
    floor = random_encoder_floor(base, range(base.seed, base.seed + seeds))
    alpha = "IID" if base.alpha is None else f"alpha={base.alpha:g}"
    pm = lambda v: f"{np.mean(v):.3f}" + (f" +- {np.std(v, ddof=1):.3f}" if len(v) > 1 else "")
    lines = [f"dssl-lite demo: {base.dataset}, {base.clients} clients, {base.topology}, {alpha}, "
             f"{base.rounds} rounds x {base.local_steps} local steps, {base.probe} probe, "
             f"{seeds} seed{'s' if seeds > 1 else ''}",
             f"{'objective':<10}{'accuracy':>16}{'IID accuracy':>16}{'robustness':>16}{'seconds':>9}"]
    for obj, res in rows.items():
        lines.append(f"{obj:<10}{pm([r.accuracy for r in res]):>16}{pm([r.iid_accuracy for r in res]):>16}"
                     f"{pm([r.robustness for r in res]):>16}{np.mean([r.seconds for r in res]):>9.1f}")
    lines.append(f"robustness = accuracy(non-IID) / accuracy(IID); 1.0 = nothing lost to non-IID data. "
                 f"Untrained encoder (the floor): {floor:.3f}.")
    low = min(np.mean([r.iid_accuracy for r in res]) for res in rows.values())
    if low < floor + 0.05:
        lines.append(f"Some IID accuracy ({low:.3f}) is within 0.05 of the floor: too little training "
                     "for these ratios to say much.")
    if "mim" in rows and "cl" in rows:
        d = paired_difference([r.robustness for r in rows["mim"]], [r.robustness for r in rows["cl"]])
        lines.append(describe_difference(d, "mim", "cl"))
    return "\n".join(lines)
