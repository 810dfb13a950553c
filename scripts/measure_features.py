"""Measure local-vs-global feature spaces: CKA, MMD^2 and kNN gap for mim, cl and mar on a preset
(default `live`, FL), at alpha 0.1 and IID, over seeds; plus UMAP wall time cold and warm.

    OMP_NUM_THREADS=1 .venv/bin/python scripts/measure_features.py --out docs/feature_spaces.csv

Prints a markdown table (mean ± std over seeds) of the most and the least typical client and writes
the raw per-run rows to `--out` (`--summarize CSV` reprints the table). Nothing is tuned.
"""
from __future__ import annotations

import argparse
import time

import pandas as pd
import torch

from dssl_lite import preset
from dssl_lite.experiment import train
from dssl_lite.features import feature_spaces, warm_up


def markdown(df: pd.DataFrame) -> str:
    """A markdown table without the optional `tabulate` dependency."""
    lines = [list(df.columns), ["---"] * df.shape[1], *df.astype(str).values.tolist()]
    return "\n".join("| " + " | ".join(map(str, r)) + " |" for r in lines)


def summarize(raw: pd.DataFrame) -> str:
    """Mean ± std over seeds per (alpha, objective, which client). CKA sits near 1, so its
    distance from 1 is shown in units of 1e-3."""
    local = raw[raw.model == "local"].assign(cka_e3=lambda d: 1e3 * (1 - d.cka))
    stat = lambda s: f"{s.mean():.3f} ± {s.std():.3f}"
    table = (local.groupby(["alpha", "objective", "which"], sort=False)
             .agg(tv=("tv", stat), cka_e3=("cka_e3", stat), mmd2=("mmd2", stat),
                  knn_gap=("knn_gap", stat))
             .reset_index().rename(columns={"cka_e3": "1 - cka (x1e-3)"}))
    glob = (raw[raw.model == "global"].groupby(["alpha", "objective"], sort=False)["knn_acc"]
            .agg(stat).rename("global_knn").reset_index())
    return markdown(table.merge(glob, on=["alpha", "objective"]))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--preset", default="live")
    p.add_argument("--objectives", nargs="+", default=["mim", "cl", "mar"])
    p.add_argument("--alphas", nargs="+", default=["0.1", "iid"])
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--n-points", type=int, default=300)
    p.add_argument("--out", default="feature_spaces.csv")
    p.add_argument("--summarize", metavar="CSV", help="only print the table of an earlier --out")
    a = p.parse_args()
    if a.summarize:
        print(summarize(pd.read_csv(a.summarize, keep_default_na=False, na_values=[""])))
        return
    torch.set_num_threads(1)

    cold = warm_up()  # first fit in this process: import + numba compile
    rows = []
    for alpha in a.alphas:
        for obj in a.objectives:
            for seed in a.seeds:
                t0 = time.perf_counter()
                _, _, sim = train(preset(a.preset, objective=obj, alpha=alpha, seed=seed))
                train_s = time.perf_counter() - t0
                fs = feature_spaces(sim, n_points=a.n_points, seed=seed)
                df = fs.to_frame().assign(alpha=alpha, seed=seed, train_s=train_s,
                                          umap_s=fs.umap_seconds)
                df["which"] = ["most typical", "least typical", "global"]
                rows.append(df)
                print(f"alpha={alpha} {obj} seed={seed}: train {train_s:.1f}s, "
                      f"umap {fs.umap_seconds:.1f}s", flush=True)
    raw = pd.concat(rows, ignore_index=True)
    raw.to_csv(a.out, index=False)
    print(summarize(raw))
    print(f"\nUMAP: cold (import + compile + tiny fit) {cold:.1f}s; warm, one run "
          f"(3 x {a.n_points} points): median {raw.umap_s.median():.2f}s, max {raw.umap_s.max():.2f}s")


if __name__ == "__main__":
    main()
