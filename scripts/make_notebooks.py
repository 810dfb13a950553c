"""Write notebooks/01..06 from the cell texts below, outputs stripped, metadata uniform.

Run `python scripts/make_notebooks.py` after editing; the notebooks in git are this script's output.
Every notebook: markdown intro, cell 1 tagged `parameters` (annotated defaults, `quick`, `seeds`,
`preset`, `output_dir`), cell 2 builds the config(s), then package calls, a prediction prompt before
each result, plots, a mean/spread table, and a conclusion computed from the run's own numbers.
"""
from __future__ import annotations

import sys
from pathlib import Path
from textwrap import dedent

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parent.parent
META = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"}}


def md(text):
    return new_markdown_cell(dedent(text).strip())


def code(text, tags=()):
    cell = new_code_cell(dedent(text).strip())
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def params(text):
    return code(text, tags=["parameters"])


PREDICT = "**Predict first.** Before you run the next cell, write down your guess: {q}"

SAVE = """
    study.write_result(output_dir, "{name}", parameters, metrics, table, conclusion{runs})
    print("wrote", output_dir)
"""

NOTEBOOKS = {}

# ---------------------------------------------------------------------------------------------
NOTEBOOKS["01_non_iid_data"] = [
    md("""
    # 01 · Non-IID data: what the Dirichlet alpha does

    In distributed self-supervised learning (D-SSL) every client trains on its own data. In real
    deployments that data is **not identically distributed**: one phone photographs cats, another
    street signs. The standard way to simulate this (Hsu et al. 2019) is **label skew by a
    Dirichlet draw**: for every class, the share of its images that goes to each of the K clients is
    drawn from `Dirichlet(alpha, ..., alpha)`.

    * large `alpha` (100) -> shares are nearly equal -> every client sees every class (close to IID);
    * small `alpha` (0.01) -> one client gets almost all of a class -> each client sees few classes.

    We summarise a partition by one number, the **heterogeneity**: the size-weighted mean
    total-variation distance between each client's label distribution and the global one
    (0 = IID, near 1 = clients hold disjoint classes). No training happens in this notebook.
    """),
    params("""
    preset: str = "live"                          # dataset, number of clients and min client size come from here
    alphas: list = [0.01, 0.1, 1.0, 10.0, 100.0]  # Dirichlet concentrations to compare
    show_alphas: list = [0.1, 1.0, 100.0]         # which ones get a histogram picture
    seeds: list = [0, 1, 2]                       # partition seeds (spread over draws)
    quick: bool = False                           # small and fast; also on when env CI is set
    output_dir: str = "runs/01_non_iid_data"   # result.json + summary.csv go here
    """),
    code("""
    import matplotlib.pyplot as plt
    import numpy as np
    import pandas as pd

    from dssl_lite import data, study
    from dssl_lite import preset as make_preset
    from dssl_lite.partition import heterogeneity, label_histogram, partition

    quick = study.is_quick(quick)
    run_seeds = study.seeds_for(seeds, quick)
    cfg = make_preset(preset)
    ds = data.load(cfg.dataset, cfg.image_size)
    labels = ds.train_y.numpy()
    parameters = dict(preset=preset, alphas=alphas, seeds=run_seeds, quick=quick)
    print(f"{cfg.dataset}: {len(labels)} training images, {ds.num_classes} classes, {cfg.clients} clients; quick={quick}")
    """),
    md("""
    ## Client label histograms

    Each bar is one client; its colours show how many images of each class it holds.
    """ + "\n\n" + PREDICT.format(q="at alpha = 0.1, about how many of the 10 classes will a typical client hold?")),
    code("""
    fig, axes = plt.subplots(1, len(show_alphas), figsize=(4.2 * len(show_alphas), 3.2), sharey=True)
    colours = plt.get_cmap("tab10")(np.arange(ds.num_classes))
    for ax, a in zip(np.atleast_1d(axes), show_alphas):
        hist = label_histogram(labels, partition(labels, cfg.clients, a, run_seeds[0], cfg.min_client_size), ds.num_classes)
        bottom = np.zeros(cfg.clients)
        for c in range(ds.num_classes):
            ax.bar(range(cfg.clients), hist[:, c], bottom=bottom, color=colours[c], width=0.85)
            bottom += hist[:, c]
        ax.set_title(f"alpha = {a}  (heterogeneity {heterogeneity(hist):.2f})")
        ax.set_xlabel("client")
    np.atleast_1d(axes)[0].set_ylabel("images")
    plt.tight_layout()
    plt.show()
    """),
    md("""
    ## Heterogeneity against alpha

    Now every alpha, over several partition seeds. "Classes held" counts the classes that make up
    at least 5% of a client's images, averaged over clients.
    """ + "\n\n" + PREDICT.format(q="how does heterogeneity change from alpha = 0.01 to alpha = 100? Is the change gradual or sudden?")),
    code("""
    rows = []
    for a in alphas:
        for s in run_seeds:
            hist = label_histogram(labels, partition(labels, cfg.clients, a, s, cfg.min_client_size), ds.num_classes)
            share = hist / hist.sum(1, keepdims=True)
            rows.append({"alpha": a, "seed": s, "heterogeneity": heterogeneity(hist),
                         "classes_held": float((share >= 0.05).sum(1).mean()),
                         "smallest_client": int(hist.sum(1).min()), "largest_client": int(hist.sum(1).max())})
    runs = pd.DataFrame(rows)
    table = study.summarize(runs, by=["alpha"], values=["heterogeneity", "classes_held"])
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.errorbar(table["alpha"], table["heterogeneity_mean"], yerr=table["heterogeneity_std"], marker="o", capsize=3)
    ax.set_xscale("log"); ax.set_xlabel("alpha (log scale)"); ax.set_ylabel("heterogeneity (mean +- std)")
    plt.show()
    table
    """),
    md("## What this run shows"),
    code("""
    h = table.set_index("alpha")["heterogeneity_mean"]
    rho = study.trend(table["alpha"], table["heterogeneity_mean"])
    steps_down = int((np.diff(h.sort_index().values) < 0).sum())
    lo, hi = h.index.min(), h.index.max()
    held = table.set_index("alpha")["classes_held_mean"]
    conclusion = (f"In this run heterogeneity went from {h[lo]:.2f} at alpha={lo} to {h[hi]:.2f} at alpha={hi} "
                  f"(it fell at {steps_down} of {len(h) - 1} steps up in alpha; Spearman rho = {rho:.2f}); "
                  f"a client held on average {held[lo]:.1f} classes at alpha={lo} and {held[hi]:.1f} at alpha={hi}. "
                  + study.verdict(rho < 0, "smaller alpha gives more heterogeneous clients"))
    print(conclusion)
    metrics = {"spearman_alpha_heterogeneity": rho,
               **study.flat_metrics(table, ["alpha"], "heterogeneity"),
               **study.flat_metrics(table, ["alpha"], "classes_held")}
    """),
    code(SAVE.format(name="01_non_iid_data", runs=", runs")),
]

# ---------------------------------------------------------------------------------------------
NOTEBOOKS["02_topology_and_mixing"] = [
    md("""
    # 02 · Topology and mixing: how fast does gossip reach consensus?

    In **federated learning (FL)** a server averages all client models every round. In
    **decentralised learning (DecL)** there is no server: each client averages with its graph
    neighbours only, `theta <- W theta`, where `W` is a **mixing matrix**. We use
    Metropolis-Hastings weights, `W_ij = 1 / (1 + max(d_i, d_j))` on edges and the rest on the
    diagonal: symmetric and doubly stochastic, so gossip keeps the average model fixed and pulls
    every client towards it.

    How fast? The distance to the average shrinks roughly like `|lambda_2|^t`, where `lambda_2`
    is W's second-largest eigenvalue in modulus. The **spectral gap** `1 - |lambda_2|` is therefore
    the speed of mixing: 1 for the complete graph (one step is exact averaging, like FL), near 0
    for a long ring. The **average degree** (average connectivity) is the paper's knob. No
    training happens here: we gossip random vectors and watch them agree.
    """),
    params("""
    preset: str = "teach-connectivity"            # the number of clients comes from here
    degrees: list = [2, 4, 8, 15]                 # node degrees (2 is a ring, clients-1 the complete graph)
    gossip_rounds: int = 60                       # gossip steps to simulate
    dim: int = 32                                 # length of each client's random vector
    seeds: list = [0, 1, 2]                       # graph and vector seeds
    quick: bool = False                           # small and fast; also on when env CI is set
    output_dir: str = "runs/02_topology_and_mixing"
    """),
    code("""
    import matplotlib.pyplot as plt
    import networkx as nx
    import numpy as np
    import pandas as pd

    from dssl_lite import study
    from dssl_lite import preset as make_preset
    from dssl_lite.topology import adjacency, average_degree, metropolis_weights, spectral_gap

    quick = study.is_quick(quick)
    run_seeds = study.seeds_for(seeds, quick)
    cfg = make_preset(preset)
    K = cfg.clients
    degs = sorted({min(int(d), K - 1) for d in degrees})

    def graph(d, seed):
        topo = "ring" if d == 2 else "complete" if d == K - 1 else "regular"
        if topo == "regular" and (K * d) % 2:
            raise ValueError(f"a {d}-regular graph on {K} nodes needs K*d even")
        return topo, adjacency(topo, K, d, np.random.default_rng(seed + 1))

    parameters = dict(preset=preset, degrees=degs, gossip_rounds=gossip_rounds, seeds=run_seeds, quick=quick)
    print(f"{K} clients, degrees {degs}, {gossip_rounds} gossip steps, seeds {run_seeds}; quick={quick}")
    """),
    md("## The graphs and their mixing matrices"),
    code("""
    fig, axes = plt.subplots(2, len(degs), figsize=(3.2 * len(degs), 6.2))
    for j, d in enumerate(degs):
        topo, adj = graph(d, run_seeds[0])
        w = metropolis_weights(adj)
        nx.draw_circular(nx.from_numpy_array(adj), ax=axes[0, j], node_size=60, width=0.6)
        axes[0, j].set_title(f"{topo}, degree {d}")
        axes[1, j].imshow(w, cmap="viridis", vmin=0, vmax=w.max())
        axes[1, j].set_title(f"W: spectral gap {spectral_gap(w):.3f}")
        axes[1, j].axis("off")
    plt.tight_layout()
    plt.show()
    """),
    md(PREDICT.format(q="going from a ring (degree 2) to the complete graph, how many gossip steps "
                      "does it take to bring the disagreement between clients down to 1% of where it started?")),
    code("""
    rows, curves = [], {}
    for d in degs:
        for s in run_seeds:
            topo, adj = graph(d, s)
            w = metropolis_weights(adj)
            x = np.random.default_rng(s).normal(size=(K, dim))     # (K, dim): one vector per client
            mean = x.mean(0, keepdims=True)                         # gossip keeps this fixed
            e0 = np.linalg.norm(x - mean)
            err = [1.0]
            for _ in range(gossip_rounds):
                x = w @ x
                err.append(float(np.linalg.norm(x - mean) / e0))
            err = np.array(err)
            hit = np.flatnonzero(err <= 0.01)
            curves[(d, s)] = err
            rows.append({"degree": d, "topology": topo, "seed": s, "average_degree": average_degree(adj),
                         "spectral_gap": spectral_gap(w),
                         "steps_to_1pct": float(hit[0]) if len(hit) else float("nan"),
                         "final_error": float(err[-1])})
    runs = pd.DataFrame(rows)
    table = study.summarize(runs, by=["degree", "topology"], values=["average_degree", "spectral_gap", "steps_to_1pct", "final_error"])

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.6))
    for d in degs:
        err = np.mean([curves[(d, s)] for s in run_seeds], axis=0)
        a1.semilogy(err, label=f"degree {d}")
    a1.axhline(0.01, color="grey", ls=":")
    a1.set_xlabel("gossip step"); a1.set_ylabel("||x - mean|| / start"); a1.legend()
    a2.errorbar(table["average_degree_mean"], table["spectral_gap_mean"], yerr=table["spectral_gap_std"], marker="o", capsize=3)
    a2.set_xlabel("average degree"); a2.set_ylabel("spectral gap 1 - |lambda_2|")
    plt.tight_layout()
    plt.show()
    table
    """),
    md("## What this run shows"),
    code("""
    first, last = table.iloc[0], table.iloc[-1]
    rho_gap = study.trend(table["average_degree_mean"], table["spectral_gap_mean"])
    steps = table["steps_to_1pct_mean"]
    fmt = lambda v: "never (within the simulated steps)" if np.isnan(v) else f"{v:.0f} step" + ("s" if v != 1 else "")
    conclusion = (f"In this run the spectral gap went from {first.spectral_gap_mean:.3f} at degree {first.degree} "
                  f"to {last.spectral_gap_mean:.3f} at degree {last.degree} (Spearman rho with degree = {rho_gap:.2f}); "
                  f"reaching 1% disagreement took {fmt(first.steps_to_1pct_mean)} on the sparsest graph and "
                  f"{fmt(last.steps_to_1pct_mean)} on the densest. "
                  + study.verdict(rho_gap > 0 and (np.isnan(steps.iloc[0]) or steps.iloc[0] >= steps.iloc[-1]),
                                  "more connections mix faster (larger spectral gap, fewer gossip steps to consensus)"))
    print(conclusion)
    metrics = {"spearman_degree_gap": rho_gap, **study.flat_metrics(table, ["degree"], "spectral_gap"),
               **study.flat_metrics(table, ["degree"], "steps_to_1pct")}
    """),
    code(SAVE.format(name="02_topology_and_mixing", runs=", runs")),
]

# ---------------------------------------------------------------------------------------------
NOTEBOOKS["03_mim_vs_cl"] = [
    md("""
    # 03 · Finding 1: is masked image modelling more robust to non-IID data than contrastive learning?

    Two families of self-supervised objectives:

    * **MIM** (masked image modelling, MAE-style): hide 75% of an image's patches and reconstruct
      them. Each image is its own task; nothing in the loss compares images with each other.
    * **CL** (contrastive / siamese, SimSiam here): pull two augmented views of the same image
      together. Its batches, and the statistics its heads see, come from the client's own data, so
      on a client that holds two classes the "other images" are all from those two classes.

    The paper reports that MIM pre-training loses less when data are non-IID. We measure
    **robustness = accuracy(non-IID alpha) / accuracy(IID)** with everything else equal (same seed,
    model, rounds), where accuracy is a frozen-feature probe of the global FL model. Robustness 1
    means no loss from non-IID data. Note that robustness is a *ratio*: CL can have the higher
    absolute accuracy and still the lower robustness.

    **Which preset.** The default, `teach-mim-vs-cl` (12 x 5 local steps), is short: on the
    embedded MNIST the encoders barely leave the random-encoder floor, so every ratio sits near 1.
    `-p preset teach-long` trains 600 local steps (minutes per run on 2 cores), long enough for
    both objectives to clear the floor; `docs/fidelity.md` has what five seeds of each gave.
    """),
    params("""
    preset: str = "teach-mim-vs-cl"          # engine preset (clients, rounds, model); see dssl_lite.config.PRESETS
    objectives: list = ["mim", "cl"]         # objectives to compare
    alphas: list = [0.05, 0.1, 0.5, 1.0]     # non-IID levels (smaller: more skewed)
    topology: str = "fl"                     # FL server averaging
    seeds: list = [0, 1, 2]                  # seeds; the table shows mean and std over them
    quick: bool = False                      # small and fast; also on when env CI is set
    output_dir: str = "runs/03_mim_vs_cl"
    """),
    code("""
    import matplotlib.pyplot as plt

    from dssl_lite import preset as make_preset
    from dssl_lite import study

    quick = study.is_quick(quick)
    run_seeds = study.seeds_for(seeds, quick)
    run_alphas = [min(alphas), max(alphas)] if quick else list(alphas)
    over = study.QUICK if quick else {}
    configs = [make_preset(preset, objective=o, alpha=a, topology=topology, **over)
               for o in objectives for a in run_alphas]
    parameters = dict(preset=preset, objectives=objectives, alphas=run_alphas, topology=topology, seeds=run_seeds, quick=quick)
    c = configs[0]
    print(f"{len(configs)} configs x {len(run_seeds)} seeds: {c.clients} clients, {c.rounds} rounds x "
          f"{c.local_steps} local steps, {c.model} width {c.width}; quick={quick}")
    """),
    md(PREDICT.format(q="at the smallest alpha, which objective keeps more of its IID accuracy? "
                      "Does the gap shrink as alpha grows?")),
    code("""
    runs = study.run_grid(configs, run_seeds)
    table = study.summarize(runs, by=["objective", "alpha"])
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.6))
    study.plot_lines(table, "alpha", "objective", "robustness", ax=a1, logx=True)
    a1.axhline(1.0, color="grey", ls=":")
    study.plot_lines(table, "alpha", "objective", "accuracy", ax=a2, logx=True)
    plt.tight_layout()
    plt.show()
    table
    """),
    md("## What this run shows"),
    code("""
    cmp = study.compare(table, "objective", "mim", "cl", over="alpha")
    a0 = min(run_alphas)
    r = table[table.alpha == a0].set_index("objective")["robustness_mean"]
    floor, floor_text = study.floor_note(configs[0], run_seeds, table)
    conclusion = (cmp["text"] + f" At alpha={a0}: MIM {r['mim']:.4f}, CL {r['cl']:.4f}. "
                  + study.judge(cmp, "MIM is more robust to non-IID data than CL") + floor_text)
    print(conclusion)
    metrics = {"mim_wins": cmp["wins"], "levels": cmp["levels"], "clear_wins": cmp["clear"],
               "floor": floor, **study.flat_metrics(table, ["objective", "alpha"])}
    """),
    code(SAVE.format(name="03_mim_vs_cl", runs=", runs")),
]

# ---------------------------------------------------------------------------------------------
NOTEBOOKS["04_connectivity"] = [
    md("""
    # 04 · Finding 2: robustness rises with connectivity, and FL is no less robust than DecL

    In decentralised learning (DecL) each client averages its model with its neighbours' after its
    local steps. With few neighbours a client's model is pulled mostly by its own (skewed) data;
    with many, it sees a mix close to the global data. The paper finds that DecL's robustness to
    non-IID data **rises with the average degree**, and that FL, where a server averages everyone
    (the limit of full connectivity), is **no less robust** than DecL.

    Here all clients train MIM at one alpha on regular graphs of growing degree (degree 2 is the
    ring, degree K-1 the complete graph). DecL's accuracy is the mean over clients of each
    client's own model (what clients actually hold). FL is the horizontal reference line. Notebook
    02 showed why degree matters: the spectral gap sets how fast gossip mixes.
    """),
    params("""
    preset: str = "teach-connectivity"       # engine preset (clients, rounds, model)
    objective: str = "mim"                   # objective trained by every client
    alpha: float = 0.1                       # non-IID level
    degrees: list = [2, 4, 8, 15]            # DecL node degrees (2 is a ring, clients-1 the complete graph)
    seeds: list = [0, 1, 2]
    quick: bool = False                      # small and fast; also on when env CI is set
    output_dir: str = "runs/04_connectivity"
    """),
    code("""
    import matplotlib.pyplot as plt
    import numpy as np

    from dssl_lite import preset as make_preset
    from dssl_lite import study

    quick = study.is_quick(quick)
    run_seeds = study.seeds_for(seeds, quick)
    over = study.QUICK if quick else {}
    base = make_preset(preset, objective=objective, alpha=alpha, **over)
    K = base.clients
    degs = sorted({min(int(d), K - 1) for d in degrees})
    if quick:
        degs = [degs[0], degs[-1]]
    topo = lambda d: "ring" if d == 2 else "complete" if d == K - 1 else "regular"
    decl = [base.replace(topology=topo(d), degree=d) for d in degs]
    fl = base.replace(topology="fl", degree=K - 1)  # the server reaches everyone
    parameters = dict(preset=preset, objective=objective, alpha=alpha, degrees=degs, seeds=run_seeds, quick=quick)
    print(f"{K} clients, DecL degrees {degs} + FL, {base.rounds} rounds x {base.local_steps} local steps, "
          f"{len(run_seeds)} seed(s); quick={quick}")
    """),
    md(PREDICT.format(q="will the ring or the complete graph be more robust? Where will FL's line sit relative to the DecL points?")),
    code("""
    runs = study.run_grid(decl + [fl], run_seeds)
    table = study.summarize(runs, by=["topology", "degree"],
                            values=["robustness", "accuracy", "iid_accuracy", "average_degree", "spectral_gap"])
    dec = table[table.topology != "fl"].sort_values("average_degree_mean")
    flr = table[table.topology == "fl"].iloc[0]

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.6))
    a1.errorbar(dec["average_degree_mean"], dec["robustness_mean"], yerr=dec["robustness_std"], marker="o", capsize=3, label="DecL")
    a1.axhline(flr.robustness_mean, color="C3", label="FL")
    a1.axhspan(flr.robustness_mean - flr.robustness_std, flr.robustness_mean + flr.robustness_std, color="C3", alpha=0.15)
    a1.set_xlabel("average degree"); a1.set_ylabel("robustness (mean +- std)"); a1.legend()
    a2.errorbar(dec["spectral_gap_mean"], dec["robustness_mean"], yerr=dec["robustness_std"], marker="o", capsize=3)
    for _, r in dec.iterrows():
        a2.annotate(f"d={r.degree}", (r.spectral_gap_mean, r.robustness_mean), fontsize=8)
    a2.set_xlabel("spectral gap of W"); a2.set_ylabel("robustness")
    plt.tight_layout()
    plt.show()
    table
    """),
    md("## What this run shows"),
    code("""
    rho = study.trend(dec["average_degree_mean"], dec["robustness_mean"])
    fl_ge = int((flr.robustness_mean >= dec["robustness_mean"]).sum())
    lo, hi = dec.iloc[0], dec.iloc[-1]
    conclusion = (f"In this run DecL robustness went from {lo.robustness_mean:.4f} at average degree {lo.average_degree_mean:.0f} "
                  f"to {hi.robustness_mean:.4f} at {hi.average_degree_mean:.0f} (Spearman rho over {len(dec)} degrees = {rho:.2f}). "
                  f"FL's robustness ({flr.robustness_mean:.4f}) was at least DecL's at {fl_ge} of {len(dec)} degrees. "
                  + study.judge_trend(rho, hi.robustness_mean - lo.robustness_mean,
                                      float(np.hypot(lo.robustness_std, hi.robustness_std)), len(run_seeds),
                                      "DecL robustness rises with average connectivity") + " "
                  + ("(With only 2 degrees a rank correlation is +-1 by construction; use more degrees.) " if len(dec) < 3 else "")
                  + study.verdict(fl_ge == len(dec), "FL is no less robust than DecL"))
    floor, floor_text = study.floor_note(fl, run_seeds, table)
    conclusion += floor_text
    print(conclusion)
    metrics = {"spearman_degree_robustness": rho, "fl_at_least_decl": fl_ge, "decl_levels": len(dec),
               "fl_robustness": flr.robustness_mean, "floor": floor,
               **study.flat_metrics(table, ["topology", "degree"])}
    """),
    code(SAVE.format(name="04_connectivity", runs=", runs")),
]

# ---------------------------------------------------------------------------------------------
NOTEBOOKS["05_mar"] = [
    md("""
    # 05 · Finding 3: MAR, masked image modelling with local-to-global alignment

    Notebook 03 found MIM's robustness; can we do better? **MAR** adds one term to each client's MIM
    loss: `mar_weight * MMD^2(local features, reference features)`, where the reference is the
    frozen model the client received at the start of the round (the global model in FL, the
    neighbour average in DecL), run on the same batch. MMD^2 (maximum mean discrepancy, Gaussian
    kernel, median bandwidth) measures how far apart two feature *distributions* are, so the term
    keeps a client's feature space from wandering away from the shared one while it trains on its
    skewed data.

    The paper reports that MAR improves on MIM. We compare robustness (accuracy(alpha) / accuracy(IID))
    of MIM and MAR across alpha, in FL and in DecL (a ring).
    """),
    params("""
    preset: str = "teach-mar"                # engine preset (clients, rounds, model)
    alphas: list = [0.05, 0.1, 1.0]          # non-IID levels
    topologies: list = ["fl", "ring"]        # FL and one DecL graph
    mar_weight: float = 1.0                  # weight of the MMD^2 alignment term
    seeds: list = [0, 1, 2]
    quick: bool = False                      # small and fast; also on when env CI is set
    output_dir: str = "runs/05_mar"
    """),
    code("""
    import matplotlib.pyplot as plt

    from dssl_lite import preset as make_preset
    from dssl_lite import study

    quick = study.is_quick(quick)
    run_seeds = study.seeds_for(seeds, quick)
    run_alphas = [min(alphas)] if quick else list(alphas)
    over = study.QUICK if quick else {}
    configs = [make_preset(preset, objective=o, alpha=a, topology=t, mar_weight=mar_weight, **over)
               for t in topologies for o in ("mim", "mar") for a in run_alphas]
    parameters = dict(preset=preset, alphas=run_alphas, topologies=topologies, mar_weight=mar_weight, seeds=run_seeds, quick=quick)
    c = configs[0]
    print(f"{len(configs)} configs x {len(run_seeds)} seeds: {c.clients} clients, {c.rounds} rounds x {c.local_steps} local steps; quick={quick}")
    """),
    md(PREDICT.format(q="will the alignment term help more in FL or in DecL, and more at small or large alpha?")),
    code("""
    runs = study.run_grid(configs, run_seeds)
    runs["setting"] = runs["topology"] + ", alpha=" + runs["alpha"].astype(str)
    table = study.summarize(runs, by=["objective", "topology", "alpha", "setting"])
    fig, axes = plt.subplots(1, len(topologies), figsize=(5 * len(topologies), 3.6), squeeze=False)
    for ax, t in zip(axes[0], topologies):
        study.plot_lines(table[table.topology == t], "alpha", "objective", "robustness", ax=ax, logx=True)
        ax.axhline(1.0, color="grey", ls=":")
        ax.set_title(t)
    plt.tight_layout()
    plt.show()
    table
    """),
    md("## What this run shows"),
    code("""
    cmp = study.compare(table, "objective", "mar", "mim", over="setting")
    gains = {k: round(v, 4) for k, v in cmp["diff"].items()}
    floor, floor_text = study.floor_note(configs[0], run_seeds, table)
    conclusion = (cmp["text"] + f" MAR minus MIM robustness per setting: {gains}. "
                  + study.judge(cmp, "MAR improves on MIM") + floor_text)
    print(conclusion)
    metrics = {"mar_wins": cmp["wins"], "levels": cmp["levels"], "clear_wins": cmp["clear"],
               "floor": floor, **study.flat_metrics(table, ["objective", "topology", "alpha"])}
    """),
    code(SAVE.format(name="05_mar", runs=", runs")),
]

# ---------------------------------------------------------------------------------------------
NOTEBOOKS["06_feature_spaces"] = [
    md("""
    # 06 · Finding 4: local feature spaces drift from the global one, CL more than MIM

    Accuracy numbers hide *why* non-IID data hurts. Here we look at the features themselves. We
    take the same test images through a few **local** models and through the **global** model
    (FL's server model, or DecL's consensus average), and embed all of them into one shared 2-D
    UMAP space per run, coloured by class. If a local model has drifted, its picture looks unlike
    the global one: classes merge or move.

    Pictures need eyes; two numbers do not:

    * **linear CKA** (Kornblith et al. 2019) between a local and the global feature set: 1 = the
      same geometry, lower = drifted;
    * **MMD^2** between them: 0 = the same distribution, higher = drifted.

    By default the local models shown are the most and the least typical client (label mix closest
    to / furthest from the global mix). In FL the local model is the update the client would send
    after one more round of local training. The paper reports that CL's local spaces drift further
    from the global than MIM's.
    """),
    params("""
    preset: str = "teach-features"           # engine preset (clients, rounds, model)
    objectives: list = ["mim", "cl"]         # one column of panels each
    alpha: float = 0.1                       # non-IID level
    topology: str = "fl"                     # fl: local model is the next local update; ring etc.: what clients hold
    n_points: int = 500                      # test images per panel (also used for CKA / MMD^2)
    seeds: list = [0, 1]
    quick: bool = False                      # small and fast; also on when env CI is set
    output_dir: str = "runs/06_feature_spaces"
    """),
    code("""
    import pandas as pd
    from IPython.display import display

    from dssl_lite import features, study
    from dssl_lite import preset as make_preset
    from dssl_lite.experiment import run

    quick = study.is_quick(quick)
    run_seeds = study.seeds_for(seeds, quick)
    points = min(n_points, 200) if quick else n_points
    over = study.QUICK if quick else {}
    configs = {o: make_preset(preset, objective=o, alpha=alpha, topology=topology, **over) for o in objectives}
    parameters = dict(preset=preset, objectives=objectives, alpha=alpha, topology=topology, n_points=points, seeds=run_seeds, quick=quick)
    c = next(iter(configs.values()))
    print(f"{objectives} at alpha={alpha}, {topology}, {c.clients} clients, {c.rounds} rounds; {points} points; quick={quick}")
    """),
    md(PREDICT.format(q="whose local panels will look more like their global panel, MIM's or CL's? "
                      "Which will have the higher CKA?")),
    code("""
    frames, accuracy, first = [], [], None
    for s in run_seeds:
        sims = {}
        for o, cfg in configs.items():
            res, sims[o] = run(cfg.replace(seed=s), keep_simulator=True)
            accuracy.append({"objective": o, "seed": s, "accuracy": res.accuracy, "robustness": res.robustness})
        fs = features.feature_spaces(sims, n_points=points, seed=s)
        first = first or fs
        frames.append(fs.to_frame().assign(seed=s))
    runs = pd.concat(frames, ignore_index=True)
    display(features.plot_feature_spaces(first))
    local = runs[runs.model == "local"]
    table = study.summarize(local, by=["objective"], values=["cka", "mmd2", "knn_gap"]).rename(columns={"seeds": "local_models"})
    table
    """),
    md("## What this run shows"),
    code("""
    t = table.set_index("objective")
    a, b = "mim", "cl"
    have = a in t.index and b in t.index
    if have:
        cka_ok, mmd_ok = t.loc[b, "cka_mean"] < t.loc[a, "cka_mean"], t.loc[b, "mmd2_mean"] > t.loc[a, "mmd2_mean"]
        conclusion = (f"In this run the local models' mean CKA to the global model was {t.loc[a, 'cka_mean']:.3f} for MIM "
                      f"and {t.loc[b, 'cka_mean']:.3f} for CL, and mean MMD^2 {t.loc[a, 'mmd2_mean']:.4f} vs "
                      f"{t.loc[b, 'mmd2_mean']:.4f} ({len(local)} local models over {len(run_seeds)} seed(s)); "
                      f"CL drifted further by {int(cka_ok) + int(mmd_ok)} of the 2 measures. "
                      + study.verdict(cka_ok and mmd_ok, "CL's local feature spaces drift from the global more than MIM's"))
    else:
        conclusion = f"Objectives {objectives} do not include both mim and cl, so finding 4 is not tested here."
    print(conclusion)
    metrics = {f"{m}_mean[objective={o}]": t.loc[o, f"{m}_mean"] for o in t.index for m in ("cka", "mmd2", "knn_gap")}
    metrics.update({f"{m}_std[objective={o}]": t.loc[o, f"{m}_std"] for o in t.index for m in ("cka", "mmd2")})
    """),
    code(SAVE.format(name="06_feature_spaces", runs=", runs")),
]


def build(name: str, cells: list) -> nbformat.NotebookNode:
    nb = new_notebook(cells=cells, metadata=META)
    for i, c in enumerate(nb.cells):
        c["id"] = f"{name[:2]}-{i:02d}"  # stable ids: regenerating gives no diff
    return nb


def main(argv=None) -> int:
    out = ROOT / "notebooks"
    out.mkdir(exist_ok=True)
    only = set((argv or sys.argv[1:]))
    for name, cells in NOTEBOOKS.items():
        if only and name not in only:
            continue
        nb = build(name, cells)
        nbformat.validate(nb)
        nbformat.write(nb, str(out / f"{name}.ipynb"))
        print("wrote", out / f"{name}.ipynb")
    return 0


if __name__ == "__main__":
    sys.exit(main())
