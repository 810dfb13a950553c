"""Feature spaces: local models against the global (FL) or averaged (DecL) model.

Pictures: pooled features of a few local models and of the global model on the same held-out test
images, embedded by UMAP into one shared 2-D space per run and coloured by class. Numbers that need
no eyes, local versus global: linear CKA, MMD^2 and the kNN-accuracy gap.

Which local model? In DecL a client's model is what it holds after gossip. In FL every client holds
the server model right after FedAvg, so the local model is the update the client would send next:
one round of local training from the current state, never aggregated (`local_update`).

Cost: `import umap` takes ~9 s and UMAP's first fit compiles numba code (~30 s on an idle core,
once per process; call `warm_up()` early). After that, one run's embedding (3 models x 300 points)
took 2-4 s on one core, up to ~10 s on a busy machine (docs/feature_spaces.md has the numbers).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Iterable, Optional, Union

import numpy as np
import torch

from .evaluate import encode, knn_accuracy
from .objectives import mmd2_unbiased

Params = dict[str, torch.Tensor]
Key = Union[int, str]  # a client id, or the global/averaged model's name
COLUMNS = ["objective", "model", "client", "tv", "cka", "mmd2", "knn_acc", "knn_gap"]
# UMAP settings shared by every fit. n_epochs: 200 is umap's own choice for large inputs (500 below
# 10k points); at 1,500 points it measured 7.8 s against 9-10 s. Single-threaded: random_state is set.
UMAP_SETTINGS = dict(min_dist=0.1, n_epochs=200, metric="euclidean", init="spectral")


# ----- which clients, which images -----
def label_tv(histogram: np.ndarray) -> np.ndarray:
    """Total-variation distance of every client's label distribution to the global one, `[K]`.
    0 = the client sees classes as the federation does; 1 = disjoint classes."""
    h = np.asarray(histogram, dtype=float)
    return 0.5 * np.abs(h / h.sum(1, keepdims=True) - h.sum(0) / h.sum()).sum(1)


def typical_clients(histogram: np.ndarray) -> list[int]:
    """[most typical, least typical] client: smallest and largest label TV to the global mix.
    Ties (to 12 decimals) go to the lower id, so the two always differ (K >= 2)."""
    tv = label_tv(histogram).round(12)
    most = int(tv.argmin())
    rest = np.delete(np.arange(len(tv)), most)
    return [most, int(rest[tv[rest].argmax()])]


def stratified_subsample(labels, n: int, seed: int = 0) -> np.ndarray:
    """`n` sorted indices with every class in proportion (up to rounding), seeded.
    Each sample's key is its fractional rank within its class in a random order, so taking the
    smallest keys deals the classes out evenly."""
    labels = np.asarray(labels)
    if n >= len(labels):
        return np.arange(len(labels))
    perm = np.random.default_rng(seed).permutation(len(labels))
    y = labels[perm]
    key = np.empty(len(y))
    for c in np.unique(y):
        at = y == c
        key[at] = (np.arange(at.sum()) + 0.5) / at.sum()
    return np.sort(perm[np.argsort(key, kind="stable")[:n]])


# ----- which models -----
def global_name(sim) -> str:
    return "global" if sim.federated else "average"


def pick_models(sim, clients: Optional[Iterable[int]] = None) -> dict[Key, Params]:
    """`{client id: params, ..., "global" | "average": params}`, global last. Default clients:
    the most and the least typical (`typical_clients`). FL locals come from `Simulator.local_update`."""
    clients = typical_clients(sim.histogram) if clients is None else [int(k) for k in clients]
    stacked = sim.local_update() if sim.federated else sim.params
    models: dict[Key, Params] = {k: {n: t[k].detach().clone() for n, t in stacked.items()}
                                 for k in clients}
    models[global_name(sim)] = sim.global_params()
    return models


def snapshots(sim, at: Iterable[int], clients: Optional[Iterable[int]] = None, stop=None,
              on_round=None) -> dict[int, dict[Key, Params]]:
    """Train `sim` to the end and keep `pick_models` copies only at the rounds in `at` (0 = before
    training), so memory grows with the snapshots asked for, not with the rounds. In FL each
    snapshot also costs one round of local training (`local_update`), undone afterwards.

    Example:
        >>> sim = Simulator(preset("live", topology="ring"))
        >>> snaps = snapshots(sim, at=[1, 8])
        >>> fs = feature_spaces({"round 1": (sim, snaps[1]), "round 8": (sim, snaps[8])})
    """
    at, out = set(at), {}
    if 0 in at:
        out[0] = pick_models(sim, clients)
    for recs in sim.rounds(stop):
        if on_round is not None:
            on_round(recs[0])
        if recs[0]["round"] in at:
            out[recs[0]["round"]] = pick_models(sim, clients)
    return out


# ----- numbers -----
def linear_cka(x: torch.Tensor, y: torch.Tensor) -> float:
    """Linear CKA (Kornblith et al. 2019) = ||Y^T X||_F^2 / (||X^T X||_F ||Y^T Y||_F) on centred
    features of the same N inputs; x: (N, D1), y: (N, D2). Invariant to rotations and isotropic
    scaling, so two models with the same geometry in different coordinates score 1."""
    x, y = x.double() - x.double().mean(0), y.double() - y.double().mean(0)
    return float((y.T @ x).pow(2).sum() / ((x.T @ x).norm() * (y.T @ y).norm()).clamp_min(1e-300))


DRIFT_IMAGES = 2000  # `local_drift` measures on every image of a dataset up to this size (digits: 1,797)


@torch.no_grad()
def local_drift(sim, n_points: int = DRIFT_IMAGES, seed: int = 0) -> dict:
    """Local-vs-global feature drift in two numbers: the mean over clients of linear CKA (1 = the
    same space up to rotation and scale) and of MMD^2 (0 = the same distribution) between each
    local model's features and the global (FL) or averaged (DecL) model's, on every image of the
    dataset (train and test split; a seeded sample of `n_points` when there are more). Local
    models as `pick_models` defines them: in FL after one more local phase from the global model."""
    x = torch.cat([sim.data.train_x, sim.data.test_x])
    if len(x) > n_points:
        x = x[torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))[:n_points].to(x.device)]
    enc = sim.model.encoder
    one = lambda params: encode(enc, {n: t[None] for n, t in sim.encoder_params(params).items()}, x)[0]
    ref = one(sim.global_params())
    stacked = sim.local_update() if sim.federated else sim.params
    ckas, mmds = [], []
    for k in range(sim.cfg.clients):
        f = one({n: t[k] for n, t in stacked.items()})
        ckas.append(linear_cka(ref, f))
        mmds.append(float(mmd2_unbiased(ref, f)))
    return dict(cka=float(np.mean(ckas)), mmd2=float(np.mean(mmds)))


# ----- pictures -----
def _reducer(seed: int, n_neighbors: int):
    import umap  # ~9 s to import; only here, so `import dssl_lite.features` stays cheap

    return umap.UMAP(n_neighbors=n_neighbors, random_state=seed, n_jobs=1, **UMAP_SETTINGS)


def warm_up(seed: int = 0) -> float:
    """Fit a tiny UMAP once so numba compiles now, not in the first picture; -> seconds taken
    (~40 s cold including the import, well under 1 s once compiled)."""
    t0 = time.perf_counter()
    x = np.random.default_rng(seed).normal(size=(64, 8)).astype(np.float32)
    _reducer(seed, 5).fit_transform(x)
    return time.perf_counter() - t0


def embed(sets: dict[Key, np.ndarray], reference: Key, seed: int = 0,
          n_neighbors: int = 15, pca: int = 20) -> dict[Key, np.ndarray]:
    """One shared 2-D UMAP of several feature sets `{key: [N, D]}` -> `{key: [N, 2]}`.

    Fitted on the union of all sets, not on the reference alone with `transform` for the rest:
    `transform` places a new point by its neighbours among the fitted ones, which pulls drifted
    local features onto the global manifold and hides the drift we want to see; in a union fit a
    drifted set can sit apart. Every set is standardised with the reference's mean and std (one
    affine map for all, so shifts and scale changes survive) and projected on the reference's
    first `pca` principal directions, as the paper's pictures do (PCA to 20 dimensions, then UMAP:
    visualization.py). Duplicate rows are fitted once, so identical features land on identical points.
    """
    mean, std = sets[reference].mean(0), sets[reference].std(0) + 1e-6
    z = np.concatenate([(f - mean) / std for f in sets.values()]).astype(np.float32)  # (M*N, D)
    ref = (sets[reference] - mean) / std
    if pca and z.shape[1] > pca:
        _, _, vt = np.linalg.svd(ref - ref.mean(0), full_matrices=False)
        z = (z @ vt[:pca].T).astype(np.float32)  # (M*N, pca)
    uniq, inv = np.unique(z, axis=0, return_inverse=True)
    xy = _reducer(seed, min(n_neighbors, len(uniq) - 1)).fit_transform(uniq)[inv.reshape(-1)]
    cuts = np.cumsum([len(f) for f in sets.values()])[:-1]
    return dict(zip(sets, np.split(xy, cuts)))


# ----- one call -----
@dataclass
class FeatureSpaces:
    """2-D points per (run, model), the class of every point per run, and one metrics row per
    model. Keys of `points`: (run name, client id or "global"/"average"), global last per run."""

    points: dict[tuple[str, Key], np.ndarray]  # (run, model) -> [n_points, 2]
    labels: dict[str, np.ndarray]  # run -> [n_points] class ids
    metrics: list[dict]
    umap_seconds: float = 0.0  # wall time of the embeddings alone (numba compile included)

    def to_frame(self):
        """Metrics as a DataFrame, one row per model: columns `COLUMNS`. The global row is the
        reference, so its cka/mmd2 are NaN and its knn_gap is 0."""
        import pandas as pd

        return pd.DataFrame(self.metrics, columns=COLUMNS).astype({"client": "Int64"})


def _one_run(name: str, sim, models: dict[Key, Params], n_points: int, seed: int, n_neighbors: int):
    """Encode, score and embed one run's models; the last model is the reference (global)."""
    d = sim.data
    enc_params = [sim.encoder_params(m) for m in models.values()]
    stacked = {n: torch.stack([p[n] for p in enc_params]) for n in enc_params[0]}  # [M, ...]
    enc = sim.model.encoder
    train_f, test_f = encode(enc, stacked, d.train_x), encode(enc, stacked, d.test_x)  # [M, N, D]
    acc = knn_accuracy(train_f, d.train_y, test_f, d.test_y, d.num_classes, sim.cfg.knn_k).cpu()
    idx = torch.as_tensor(stratified_subsample(d.test_y.cpu().numpy(), n_points, seed))
    sub = test_f[:, idx.to(test_f.device)].cpu()  # [M, n, D]
    keys, ref = list(models), len(models) - 1
    tv = label_tv(sim.histogram)
    nan = float("nan")
    rows = [{"objective": name, "model": "local" if i != ref else k,
             "client": int(k) if i != ref else None, "tv": float(tv[k]) if i != ref else nan,
             "cka": linear_cka(sub[i], sub[ref]) if i != ref else nan,
             "mmd2": float(mmd2_unbiased(sub[i], sub[ref])) if i != ref else nan,
             "knn_acc": float(acc[i]), "knn_gap": float(acc[i] - acc[ref])}
            for i, k in enumerate(keys)]
    t0 = time.perf_counter()
    xy = embed({k: sub[i].numpy() for i, k in enumerate(keys)}, keys[ref], seed, n_neighbors)
    labels = d.test_y[idx.to(d.test_y.device)].cpu().numpy()
    return {(name, k): v for k, v in xy.items()}, labels, rows, time.perf_counter() - t0


def feature_spaces(runs, clients: Optional[Iterable[int]] = None, n_points: int = 300,
                   seed: int = 0, n_neighbors: int = 15) -> FeatureSpaces:
    """Feature spaces of chosen local models and the global/averaged model, per run.

    Args:
        runs: a trained `Simulator`, or `{name: Simulator}` (e.g. one per objective), or
            `{name: (Simulator, pick_models(...) or a snapshots(...)[round] dict)}`.
        clients: local models to show (default: the most and least typical, see `typical_clients`).
        n_points: test images (stratified, seeded) for the pictures, CKA and MMD^2; the kNN
            accuracies use the full train and test splits, as `evaluate` does.
        seed: subsample and UMAP seed.

    Example:
        >>> fs = feature_spaces({"mim": sim_mim, "cl": sim_cl})
        >>> fs.to_frame(); plot_feature_spaces(fs).savefig("features.png")
    """
    if not isinstance(runs, dict):
        runs = {runs.cfg.objective: runs}
    fs = FeatureSpaces({}, {}, [])
    for name, run in runs.items():
        sim, models = run if isinstance(run, tuple) else (run, pick_models(run, clients))
        pts, fs.labels[name], rows, secs = _one_run(name, sim, models, n_points, seed, n_neighbors)
        fs.points.update(pts)
        fs.metrics += rows
        fs.umap_seconds += secs
    return fs


def plot_feature_spaces(fs: FeatureSpaces, axes=None):
    """Panel grid -> matplotlib Figure: columns = runs; rows = local models, the global model last.
    Coloured by class; CKA and MMD^2 to the global model in each local panel's title.

    Panels in a column share one embedding and so one set of axis limits; columns are separate
    embeddings (different encoders), so their coordinates are not compared.
    """
    from matplotlib import colormaps
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    names = list(fs.labels)
    keys = {n: [k for (r, k) in fs.points if r == n] for n in names}
    nrows = max(len(v) for v in keys.values())
    if axes is None:
        fig = Figure(figsize=(3.2 * len(names), 3.0 * nrows), layout="constrained")
        axes = fig.subplots(nrows, len(names), squeeze=False)
    axes = np.asarray(axes).reshape(nrows, len(names))
    fig = axes.flat[0].figure
    classes = int(max(v.max() for v in fs.labels.values())) + 1
    cmap = "tab10" if classes <= 10 else "turbo"
    for j, name in enumerate(names):
        allxy = np.concatenate([fs.points[(name, k)] for k in keys[name]])
        lo, hi = allxy.min(0), allxy.max(0)
        lo, hi = lo - 0.05 * (hi - lo), hi + 0.05 * (hi - lo)
        slots = list(range(len(keys[name]) - 1)) + [nrows - 1]  # global in the last row
        for i in set(range(nrows)) - set(slots):
            axes[i, j].axis("off")
        rows = [m for m in fs.metrics if m["objective"] == name]  # same order as keys[name]
        for i, k, m in zip(slots, keys[name], rows):
            ax, xy = axes[i, j], fs.points[(name, k)]
            ax.scatter(xy[:, 0], xy[:, 1], c=fs.labels[name], cmap=cmap, vmin=-0.5,
                       vmax=classes - 0.5, s=4, linewidths=0)
            ax.set(xlim=(lo[0], hi[0]), ylim=(lo[1], hi[1]), xticks=[], yticks=[])
            if m["model"] == "local":
                ax.set_title(f"{name}: client {k} (TV {m['tv']:.2f})\n"
                             f"CKA {m['cka']:.3f}  MMD² {m['mmd2']:.3f}  kNN {m['knn_acc']:.2f}",
                             fontsize=8)
            else:
                ax.set_title(f"{name}: {k}\nkNN {m['knn_acc']:.2f}", fontsize=8)
    if classes <= 10:
        fig.legend(handles=[Line2D([], [], ls="", marker="o", ms=4, color=colormaps[cmap](c),
                                   label=str(c))
                            for c in range(classes)], loc="outside lower center", ncols=classes,
                   fontsize=7, frameon=False, handletextpad=0.1, title="class", title_fontsize=7)
    return fig
