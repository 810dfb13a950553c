"""What the teaching notebooks share: grids of runs over seeds, mean/spread tables, conclusions
computed from this run's numbers, and the `result.json` + `summary.csv` a sweep collects.

Notebooks stay thin: after the install cell, one cell holds the parameters, the next resolves
them (`setup`) and builds configs, the rest calls these and draws. What each notebook computes
and concludes is a function here (the last section), so it is tested, linted and reused.

Example:
    >>> cfgs = [preset("tiny", objective=o, alpha=a) for o in ("mim", "cl") for a in (0.1, 1.0)]
    >>> runs = run_grid(cfgs, seeds=[0, 1])
    >>> table = summarize(runs, by=["objective", "alpha"])
    >>> print(paired_compare(runs, "objective", "mim", "cl", over="alpha")["text"])
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Iterable, NamedTuple, Optional, Sequence

import numpy as np
import pandas as pd

from .config import Config
from .experiment import run
from .stats import paired_difference, trend
from .storage import atomic_write

# What quick mode (CI, nbmake, `quick=True`) changes on top of a notebook's preset: a model and
# schedule small enough that every notebook finishes in well under a minute on 2 CPU cores.
QUICK = dict(rounds=2, local_steps=3, clients=6, width=32, depth=1, heads=2, batch_size=16)


def is_quick(quick: bool = False) -> bool:
    """Quick mode is on when asked for or when the CI environment variable is set (nbmake passes
    no parameters, so CI is how a test run asks for the small version)."""
    return bool(quick) or os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def seeds_for(seeds: Sequence[int], quick: bool) -> list[int]:
    """All seeds at full size; the first one in quick mode."""
    seeds = list(seeds)
    return seeds[:1] if quick else seeds


def run_grid(configs: Iterable[Config], seeds: Sequence[int], keep_simulators: bool = False,
             progress: bool = True):
    """Run every config at every seed -> DataFrame, one row per run (`Result.summary_row()`).

    With `keep_simulators`, also returns `{(i, seed): Simulator}` keyed by config index."""
    from tqdm.auto import tqdm

    jobs = [(i, c.replace(seed=int(s))) for i, c in enumerate(configs) for s in seeds]
    rows, sims = [], {}
    for i, cfg in tqdm(jobs, desc="runs", file=sys.stderr, disable=not progress):
        out = run(cfg, keep_simulator=keep_simulators)
        res, sim = out if keep_simulators else (out, None)
        rows.append({"config_index": i, **res.summary_row()})
        if keep_simulators:
            sims[(i, cfg.seed)] = sim
    df = pd.DataFrame(rows)
    if "alpha" in df:  # None (IID) sorts and plots badly; keep it as a label
        df["alpha"] = df["alpha"].astype(object).where(df["alpha"].notna(), "iid")
    return (df, sims) if keep_simulators else df


def summarize(runs: pd.DataFrame, by: Sequence[str],
              values: Sequence[str] = ("robustness", "accuracy", "iid_accuracy")) -> pd.DataFrame:
    """Mean, standard deviation (0 with one seed) and count over seeds for every group."""
    values = [v for v in values if v in runs]
    g = runs.groupby(list(by), sort=True, dropna=False)[values]
    out = g.agg(["mean", "std"])
    out.columns = [f"{v}_{stat}" for v, stat in out.columns]
    out = out.fillna({c: 0.0 for c in out.columns if c.endswith("_std")})
    out["seeds"] = g.size()
    return out.reset_index()


def paired_compare(runs: pd.DataFrame, column: str, a: str, b: str, over: str,
                   value: str = "robustness") -> dict:
    """Where is `a` ahead of `b` in `value`, at each level of `over`, paired by seed (the same
    seed gives both the same split and initial model)? The 95 % t-interval of the mean paired
    difference decides: "clear" levels are those whose interval lies above 0. The same statistics
    as `dssl-lite reproduce` (`dssl_lite.stats.paired_difference`)."""
    levels, out = [], {}
    for level, g in runs.groupby(over, sort=True):
        wide = g.pivot_table(index="seed", columns=column, values=value)
        if a in wide and b in wide:
            pair = wide[[a, b]].dropna()
            out[level] = paired_difference(pair[a], pair[b])
            levels.append(level)
    wins = [x for x in levels if out[x]["mean"] > 0]
    clear = [x for x in levels if out[x]["ci_low"] > 0]
    against = [x for x in levels if out[x]["ci_high"] < 0]
    seeds = min((out[x]["n"] for x in levels), default=0)
    cell = lambda x: (f"{x}: {out[x]['mean']:+.3f}" + (f" [{out[x]['ci_low']:+.3f}, {out[x]['ci_high']:+.3f}]"
                                                       if seeds > 1 else ""))
    text = (f"{a} - {b} {value}, paired by seed ({seeds} seed{'s' if seeds != 1 else ''}), per {over}: "
            + "; ".join(cell(x) for x in levels) + ".")
    if seeds < 2:
        text += " With one seed there is no interval: nothing here is a finding."
    else:
        text += (f" The 95 % interval lies above 0 at {len(clear)} of {len(levels)} levels"
                 + (f" and below 0 at {len(against)}" if against else "") + ".")
    return {"levels": len(levels), "wins": len(wins), "clear": len(clear), "against": len(against),
            "seeds": seeds, "diff": {x: out[x]["mean"] for x in levels}, "intervals": out, "text": text}


def judge_paired(cmp: dict, claim: str) -> str:
    """The verdict on a `paired_compare`: agreement needs the interval above 0 at most levels;
    ahead on the mean at most levels without that is only 'pointing the same way'."""
    if not cmp["levels"]:
        return f"Nothing here tests the claim that {claim}."
    if cmp["seeds"] >= 2 and cmp["clear"] > cmp["levels"] / 2:
        return verdict(True, claim)
    if cmp["against"] > cmp["levels"] / 2 or cmp["wins"] <= cmp["levels"] / 2:
        return verdict(False, claim)
    why = "there is one seed" if cmp["seeds"] < 2 else "most intervals include 0"
    return (f"These numbers point the same way as the claim that {claim}, but {why}, so they do "
            f"not establish it.")


def measure(configs: Sequence[Config], seeds: Sequence[int], source: str,
            preset_name: str = "live") -> tuple[pd.DataFrame, str]:
    """The runs a notebook compares -> (one row per config and seed, like `run_grid`, and a
    sentence saying where the numbers come from). `source="atlas"` reads the preset's shipped
    atlas (instant: what quick mode and CI show); `"train"` trains them now."""
    if source == "train":
        return run_grid(configs, seeds), f"Numbers trained now, in this notebook ({len(seeds)} seeds)."
    from . import atlas

    name = preset_name
    table = atlas.shipped(name)
    keys = {atlas.setting_key(c.as_dict(), ("seed",)): i for i, c in enumerate(configs)}
    rows = []
    for _, r in table.iterrows():
        cfg = json.loads(r["config"])
        i = keys.get(atlas.setting_key(cfg, ("seed",)))
        if i is not None and cfg["seed"] in seeds:
            rows.append({"config_index": i, **cfg, "accuracy": r["accuracy"], "iid_accuracy": r["iid_accuracy"],
                         "robustness": r["robustness"], "floor": r["floor"], "seconds": r["seconds"],
                         "average_degree": r["average_degree"]})
    df = pd.DataFrame(rows)
    missing = set(range(len(configs))) - set(df["config_index"] if len(df) else [])
    if missing:
        raise ValueError(f"the shipped atlas for preset {name!r} lacks {len(missing)} of these settings; "
                         f"run with quick=False to train them, or rebuild it (dssl-lite atlas build)")
    df["alpha"] = df["alpha"].astype(object).where(df["alpha"].notna(), "iid")
    engine = ", ".join(sorted(set(table["engine"].astype(str))))
    return df, (f"Numbers from the shipped atlas (preset {name}, seeds {sorted(set(df['seed']))}, measured "
                f"by `dssl-lite atlas build`, engine {engine}): nothing was trained here. Set quick=False "
                f"to train them now.")


def verdict(holds: bool, claim: str) -> str:
    """One sentence: whether this run's numbers show `claim`, never a claim on the paper's word."""
    return (f"These numbers agree with the claim that {claim}." if holds else
            f"These numbers do not show that {claim}; at this scale the effect is absent or "
            f"smaller than the noise here (longer training, e.g. preset teach-long, and more "
            f"seeds would test it further).")


FLOOR_MARGIN = 0.02  # accuracy within this of the untrained encoder's counts as "at the floor"


def floor_note(cfg: Config, seeds: Sequence[int], table: pd.DataFrame) -> tuple[float, str]:
    """The random-encoder floor (untrained encoder, same probe and data, mean over `seeds`) and one
    sentence comparing the lowest mean accuracy in `table` with it. A robustness ratio of two
    accuracies at the floor measures nothing the objective learned, so the text says so."""
    from .findings import floor as floor_of  # memoised per seed

    floor = floor_of(cfg, seeds)
    low = float(table["accuracy_mean"].min())
    text = (f" The untrained encoder's {cfg.probe} accuracy (the floor) is {floor:.3f}; the lowest "
            f"mean accuracy here is {low:.3f}")
    if low - floor < FLOOR_MARGIN:
        return floor, text + (", within 0.02 of the floor or below it: those runs learned little that a "
                              "random encoder lacks, so their robustness says little about the objective "
                              "(train longer, e.g. preset teach-long).")
    return floor, text + f", {low - floor:.3f} above it."


def plot_lines(table: pd.DataFrame, x: str, hue: str, value: str = "robustness", ax=None,
               logx: bool = False):
    """Mean +- std over seeds of `value` against `x`, one line per `hue` level -> axes."""
    import matplotlib.pyplot as plt

    ax = ax or plt.subplots(figsize=(5, 3.5))[1]
    for level, g in table.groupby(hue, sort=True):
        g = g.sort_values(x)
        ax.errorbar(g[x], g[f"{value}_mean"], yerr=g[f"{value}_std"], marker="o", capsize=3, label=str(level))
    if logx:
        ax.set_xscale("log")
    ax.set_xlabel(x)
    ax.set_ylabel(f"{value} (mean +- std)")
    ax.legend(title=hue)
    return ax


def flat_metrics(table: pd.DataFrame, keys: Sequence[str], value: str = "robustness") -> dict:
    """`{"robustness_mean[objective=mim,alpha=0.1]": ...}`: a table's means (and stds) as flat
    scalars, so a sweep's summary can put every notebook's headline numbers in one row."""
    out = {}
    for r in table.to_dict("records"):
        tag = ",".join(f"{k}={r[k]}" for k in keys)
        out[f"{value}_mean[{tag}]"] = r[f"{value}_mean"]
        out[f"{value}_std[{tag}]"] = r[f"{value}_std"]
    return out


def _plain(v):
    if isinstance(v, (np.floating, np.integer, np.bool_)):
        return v.item()
    if isinstance(v, float) and v != v:
        return None
    return v


def write_result(output_dir, notebook: str, parameters: dict, metrics: dict, table: pd.DataFrame,
                 conclusion: str, runs: Optional[pd.DataFrame] = None) -> Path:
    """Write `result.json` (parameters, headline metrics, conclusion, table) and `summary.csv`
    (the table) into `output_dir`, atomically, for `dssl-lite sweep` to collect."""
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    records = [{k: _plain(v) for k, v in r.items()} for r in table.to_dict("records")]
    payload = {"notebook": notebook, "parameters": {k: _plain(v) for k, v in parameters.items()},
               "metrics": {k: _plain(v) for k, v in metrics.items()}, "conclusion": conclusion,
               "table": records}
    if runs is not None:
        payload["runs"] = [{k: _plain(v) for k, v in r.items()} for r in runs.to_dict("records")]
    atomic_write(out / "summary.csv", table.to_csv(index=False))
    atomic_write(out / "result.json", json.dumps(payload, indent=1, default=str))
    return out / "result.json"


# ----- what each teaching notebook computes; its cells only call these and draw -----
class Setup(NamedTuple):
    """What every notebook's set-up cell resolves: quick mode, the seeds to run and the config
    fields quick mode shrinks (empty at full size)."""

    quick: bool
    seeds: list
    overrides: dict


def setup(quick: bool, seeds: Sequence[int]) -> Setup:
    """`quick, run_seeds, over = study.setup(quick, seeds)`: one line instead of three per notebook."""
    quick = is_quick(quick)
    return Setup(quick, seeds_for(seeds, quick), dict(QUICK) if quick else {})


def partition_stats(labels: np.ndarray, num_classes: int, clients: int, alphas: Sequence[float],
                    seeds: Sequence[int], min_client_size: int) -> pd.DataFrame:
    """Notebook 01: one row per (alpha, seed) Dirichlet split: its heterogeneity, the classes a
    client holds (those making up at least 5% of its images, mean over clients) and the client sizes."""
    from .partition import heterogeneity, label_histogram, partition

    rows = []
    for a in alphas:
        for s in seeds:
            hist = label_histogram(labels, partition(labels, clients, a, s, min_client_size), num_classes)
            share = hist / hist.sum(1, keepdims=True)
            rows.append({"alpha": a, "seed": s, "heterogeneity": heterogeneity(hist),
                         "classes_held": float((share >= 0.05).sum(1).mean()),
                         "smallest_client": int(hist.sum(1).min()), "largest_client": int(hist.sum(1).max())})
    return pd.DataFrame(rows)


def conclude_non_iid(table: pd.DataFrame) -> tuple[str, dict]:
    """Notebook 01's conclusion and headline metrics from its per-alpha table."""
    h = table.set_index("alpha")["heterogeneity_mean"]
    rho = trend(table["alpha"], table["heterogeneity_mean"])
    steps_down = int((np.diff(h.sort_index().values) < 0).sum())
    lo, hi = h.index.min(), h.index.max()
    held = table.set_index("alpha")["classes_held_mean"]
    text = (f"In this run heterogeneity went from {h[lo]:.2f} at alpha={lo} to {h[hi]:.2f} at alpha={hi} "
            f"(it fell at {steps_down} of {len(h) - 1} steps up in alpha; Spearman rho = {rho:.2f}); "
            f"a client held on average {held[lo]:.1f} classes at alpha={lo} and {held[hi]:.1f} at alpha={hi}. "
            + verdict(rho < 0, "smaller alpha gives more heterogeneous clients"))
    metrics = {"spearman_alpha_heterogeneity": rho, **flat_metrics(table, ["alpha"], "heterogeneity"),
               **flat_metrics(table, ["alpha"], "classes_held")}
    return text, metrics


def topology_for_degree(clients: int, degree: int) -> str:
    """The graph a node degree names on `clients` nodes: 2 is the ring, clients-1 the complete
    graph, anything between a random regular graph."""
    return "ring" if degree == 2 else "complete" if degree == clients - 1 else "regular"


def degree_graph(clients: int, degree: int, seed: int) -> tuple[str, np.ndarray]:
    """`(topology name, adjacency)` of a seeded graph with this node degree."""
    from .topologies import adjacency

    topo = topology_for_degree(clients, degree)
    if topo == "regular" and (clients * degree) % 2:
        raise ValueError(f"a {degree}-regular graph on {clients} nodes needs K*d even")
    return topo, adjacency(topo, clients, degree, np.random.default_rng(seed + 1))


def gossip_runs(clients: int, degrees: Sequence[int], seeds: Sequence[int], steps: int,
                dim: int) -> tuple[pd.DataFrame, dict]:
    """Notebook 02: every client starts with a random vector `[dim]` and gossips `x <- W x` with
    Metropolis weights for `steps` steps. Gossip keeps the mean fixed, so the disagreement
    `||x_t - mean|| / ||x_0 - mean||` measures how far from consensus the clients still are.
    -> one row per (degree, seed) and `{(degree, seed): disagreement per step}`."""
    from .topologies import average_degree, metropolis_weights, spectral_gap

    rows, curves = [], {}
    for d in degrees:
        for s in seeds:
            topo, adj = degree_graph(clients, d, s)
            w = metropolis_weights(adj)
            x = np.random.default_rng(s).normal(size=(clients, dim))
            mean = x.mean(0, keepdims=True)
            e0 = np.linalg.norm(x - mean)
            err = [1.0]
            for _ in range(steps):
                x = w @ x
                err.append(float(np.linalg.norm(x - mean) / e0))
            err = np.array(err)
            hit = np.flatnonzero(err <= 0.01)
            curves[(d, s)] = err
            rows.append({"degree": d, "topology": topo, "seed": s, "average_degree": average_degree(adj),
                         "spectral_gap": spectral_gap(w),
                         "steps_to_1pct": float(hit[0]) if len(hit) else float("nan"),
                         "final_error": float(err[-1])})
    return pd.DataFrame(rows), curves


def conclude_mixing(table: pd.DataFrame) -> tuple[str, dict]:
    """Notebook 02's conclusion and headline metrics from its per-degree table."""
    first, last = table.iloc[0], table.iloc[-1]
    rho_gap = trend(table["average_degree_mean"], table["spectral_gap_mean"])
    steps = table["steps_to_1pct_mean"]

    def fmt(v):
        return "never (within the simulated steps)" if np.isnan(v) else f"{v:.0f} step" + ("s" if v != 1 else "")

    text = (f"In this run the spectral gap went from {first.spectral_gap_mean:.3f} at degree {first.degree} "
            f"to {last.spectral_gap_mean:.3f} at degree {last.degree} (Spearman rho with degree = {rho_gap:.2f}); "
            f"reaching 1% disagreement took {fmt(first.steps_to_1pct_mean)} on the sparsest graph and "
            f"{fmt(last.steps_to_1pct_mean)} on the densest. "
            + verdict(rho_gap > 0 and (np.isnan(steps.iloc[0]) or steps.iloc[0] >= steps.iloc[-1]),
                      "more connections mix faster (larger spectral gap, fewer gossip steps to consensus)"))
    metrics = {"spearman_degree_gap": rho_gap, **flat_metrics(table, ["degree"], "spectral_gap"),
               **flat_metrics(table, ["degree"], "steps_to_1pct")}
    return text, metrics


def conclude_mim_vs_cl(runs: pd.DataFrame, base: Config, seeds: Sequence[int]) -> tuple[str, dict]:
    """Notebook 03 (finding 1): MIM against CL robustness per alpha, paired by seed, with the
    floor check."""
    table = summarize(runs, by=["objective", "alpha"])
    cmp = paired_compare(runs, "objective", "mim", "cl", over="alpha")
    floor, floor_text = floor_note(base, seeds, table)
    text = cmp["text"] + " " + judge_paired(cmp, "MIM is more robust to non-IID data than CL") + floor_text
    metrics = {"mim_wins": cmp["wins"], "levels": cmp["levels"], "clear_wins": cmp["clear"],
               "floor": floor, **flat_metrics(table, ["objective", "alpha"])}
    return text, metrics


def split_fl(table: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """Notebook 04's table -> (DecL rows by average degree, the FL row)."""
    dec = table[table.topology != "fl"].sort_values("average_degree_mean")
    return dec, table[table.topology == "fl"].iloc[0]


def conclude_connectivity(runs: pd.DataFrame, fl: Config, seeds: Sequence[int]) -> tuple[str, dict]:
    """Notebook 04 (finding 2): does DecL robustness rise from the sparsest to the densest graph,
    and is FL no less robust than DecL? Both paired by seed."""
    table = summarize(runs, by=["topology", "degree"],
                      values=["robustness", "accuracy", "iid_accuracy", "average_degree", "spectral_gap"])
    dec, flr = split_fl(table)
    rho = trend(dec["average_degree_mean"], dec["robustness_mean"])
    lo, hi = dec.iloc[0], dec.iloc[-1]
    label = lambda r: f"{r.topology}-{r.degree}"
    runs = runs.assign(graph=runs["topology"] + "-" + runs["degree"].astype(str))
    dense = paired_compare(runs.assign(level="all"), "graph", label(hi), label(lo), over="level")
    d = dense["intervals"].get("all")
    fl_label = label(flr)
    fl_vs = [paired_compare(runs.assign(level="all"), "graph", fl_label, label(r), over="level")
             for _, r in dec.iterrows()]
    fl_ok = sum(c["intervals"]["all"]["ci_high"] >= 0 for c in fl_vs if "all" in c["intervals"])
    text = (f"DecL robustness went from {lo.robustness_mean:.4f} at average degree {lo.average_degree_mean:.0f} "
            f"to {hi.robustness_mean:.4f} at {hi.average_degree_mean:.0f} (Spearman rho over {len(dec)} graphs "
            f"{rho:.2f}). " + dense["text"].replace("per level: all: ", "densest - sparsest: ") + " "
            + judge_paired(dense, "DecL robustness rises with average connectivity") + " "
            + f"FL ({flr.robustness_mean:.4f}) is not below DecL beyond the seed noise at {fl_ok} of {len(dec)} "
            f"graphs (paired intervals). " + verdict(fl_ok == len(dec), "FL is no less robust than DecL"))
    floor, floor_text = floor_note(fl, seeds, table)
    metrics = {"spearman_degree_robustness": rho, "fl_not_below_decl": fl_ok, "decl_levels": len(dec),
               "dense_minus_sparse": d["mean"] if d else float("nan"), "fl_robustness": flr.robustness_mean,
               "floor": floor, **flat_metrics(table, ["topology", "degree"])}
    return text + floor_text, metrics


def conclude_mar(runs: pd.DataFrame, base: Config, seeds: Sequence[int]) -> tuple[str, dict]:
    """Notebook 05 (finding 3): MAR against MIM robustness per setting (graph and alpha), paired
    by seed."""
    runs = runs.assign(setting=runs["topology"] + ", alpha=" + runs["alpha"].astype(str))
    table = summarize(runs, by=["objective", "topology", "alpha", "setting"])
    cmp = paired_compare(runs, "objective", "mar", "mim", over="setting")
    floor, floor_text = floor_note(base, seeds, table)
    text = cmp["text"] + " " + judge_paired(cmp, "MAR improves on MIM") + floor_text
    metrics = {"mar_wins": cmp["wins"], "levels": cmp["levels"], "clear_wins": cmp["clear"],
               "floor": floor, **flat_metrics(table, ["objective", "topology", "alpha"])}
    return text, metrics


def feature_space_runs(configs: dict[str, Config], seeds: Sequence[int], n_points: int):
    """Notebook 06: train every objective's config at every seed and measure its local models'
    feature spaces against the global one -> (one metrics row per model and seed, the first seed's
    `FeatureSpaces` for the pictures)."""
    from . import features

    frames, first = [], None
    for s in seeds:
        sims = {o: run(cfg.replace(seed=s), keep_simulator=True)[1] for o, cfg in configs.items()}
        fs = features.feature_spaces(sims, n_points=n_points, seed=s)
        first = first or fs
        frames.append(fs.to_frame().assign(seed=s))
    return pd.concat(frames, ignore_index=True), first


def conclude_feature_spaces(table: pd.DataFrame, objectives: Sequence[str], n_local: int,
                            seeds: Sequence[int]) -> tuple[str, dict]:
    """Notebook 06 (finding 4): do CL's local feature spaces drift further than MIM's (lower CKA
    and higher MMD^2 to the global model)? `n_local` is the number of local models measured."""
    t = table.set_index("objective")
    a, b = "mim", "cl"
    if a in t.index and b in t.index:
        cka_ok, mmd_ok = t.loc[b, "cka_mean"] < t.loc[a, "cka_mean"], t.loc[b, "mmd2_mean"] > t.loc[a, "mmd2_mean"]
        text = (f"In this run the local models' mean CKA to the global model was {t.loc[a, 'cka_mean']:.3f} for MIM "
                f"and {t.loc[b, 'cka_mean']:.3f} for CL, and mean MMD^2 {t.loc[a, 'mmd2_mean']:.4f} vs "
                f"{t.loc[b, 'mmd2_mean']:.4f} ({n_local} local models over {len(seeds)} seed(s)); "
                f"CL drifted further by {int(cka_ok) + int(mmd_ok)} of the 2 measures. "
                + verdict(cka_ok and mmd_ok, "CL's local feature spaces drift from the global more than MIM's"))
    else:
        text = f"Objectives {list(objectives)} do not include both mim and cl, so finding 4 is not tested here."
    metrics = {f"{m}_mean[objective={o}]": t.loc[o, f"{m}_mean"] for o in t.index for m in ("cka", "mmd2", "knn_gap")}
    metrics.update({f"{m}_std[objective={o}]": t.loc[o, f"{m}_std"] for o in t.index for m in ("cka", "mmd2")})
    return text, metrics
