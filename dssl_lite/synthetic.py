"""`patches`: a theory-shaped synthetic dataset in which CL and MIM are *expected* to differ.

Generative model (one image, 16 x 16 px, a 4 x 4 grid of 4 x 4-px patches, i.e. the ViT's patch
grid at `patch_size=4`). Let `B` be the 16 orthonormal 2-D DCT-II basis patterns of a 4 x 4 patch,
ordered by frequency. The first `S = 6` (lowest frequencies) span the *shared* subspace; the other
ten are the class atoms, `a_c = B[S + c]` for class `c` (one private, orthogonal direction each).
For an image of class `y`, independently at every one of the 16 patch positions `p`:

    patch_p = s_p + m_p * e_p * a_y + sigma * n_p
    s_p ~ N(0, I_S) in the shared basis (a random low-frequency texture, every class has it),
    m_p ~ Bernoulli(q)  (the class atom is present at this position or not),
    e_p ~ U{-1, +1} * U[amp_lo, amp_hi]  (sign and strength; the sign makes the *mean* patch of
          every class the same, so class identity lives in second moments, not in pixel averages),
    n_p ~ N(0, I_16)  white pixel noise.

So the label is carried only by *which* private direction has energy; the shared texture is the
largest source of variance and carries no label at all.

Assumption of the paper's analysis this embodies: data are sums of latent patch-level features
(a sparse-coding / feature-dictionary model, as in the theory of MAE vs. contrastive learning),
some features private to a class and some shared, and a local objective only shapes the directions
that its *local* distribution exercises. Under label skew a client with few classes never sees most
private directions; there they carry only noise. A contrastive (invariance) objective such as
SimSiam is pushed to be invariant to whatever differs between two views of the same image; on such
a client the absent classes' directions differ between views only by augmentation noise, so CL is
free, and pushed, to discard them. Masked reconstruction has no invariance term: predicting masked
patches from visible ones rewards keeping every patch statistic that is present and nothing
rewards throwing the rest away. Nothing here encodes which objective wins: labels only choose the
private direction, both objectives see the same images, and whether the expected gap appears is
measured (docs/fidelity.md).

Seeded, offline, and fast (numpy, ~10 ms for 5,000 images).
"""
from __future__ import annotations

import numpy as np

GRID, PATCH, SHARED = 4, 4, 6  # 4 x 4 patches of 4 x 4 px; 6 shared low-frequency directions


def dct_basis(n: int = PATCH) -> np.ndarray:
    """The n*n orthonormal 2-D DCT-II patterns, lowest frequency first: `[n*n, n, n]`."""
    k = np.arange(n)
    c = np.cos(np.pi * (2 * k[None, :] + 1) * k[:, None] / (2 * n)) * np.sqrt(2 / n)  # (freq, pos)
    c[0] /= np.sqrt(2)
    order = sorted(((u, v) for u in range(n) for v in range(n)), key=lambda t: (t[0] + t[1], t[0]))
    return np.stack([np.outer(c[u], c[v]) for u, v in order])


def generate(n_per_class: int = 500, num_classes: int = 10, q: float = 0.5,
             amp: tuple[float, float] = (1.0, 2.0), sigma: float = 0.3,
             seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Images `[N, 1, 16, 16]` (float32) and labels `[N]` (int64), classes balanced, in class order.

    Example:
        >>> x, y = generate(n_per_class=20)
        >>> x.shape, np.bincount(y).tolist()[:3]
        ((200, 1, 16, 16), [20, 20, 20])
    """
    basis = dct_basis()  # (16, 4, 4)
    if num_classes > len(basis) - SHARED:
        raise ValueError(f"num_classes: at most {len(basis) - SHARED} private directions")
    rng = np.random.default_rng(seed)
    n, L = n_per_class * num_classes, GRID * GRID
    y = np.repeat(np.arange(num_classes), n_per_class)
    shared = rng.standard_normal((n, L, SHARED)) @ basis[:SHARED].reshape(SHARED, -1)  # (N, L, 16)
    present = rng.random((n, L)) < q
    strength = rng.uniform(*amp, (n, L)) * rng.choice([-1.0, 1.0], (n, L)) * present
    private = strength[..., None] * basis[SHARED + y].reshape(n, 1, -1)  # (N, L, 16)
    patches = shared + private + sigma * rng.standard_normal((n, L, PATCH * PATCH))
    # (N, gy, gx, py, px) -> (N, 1, 16, 16)
    img = patches.reshape(n, GRID, GRID, PATCH, PATCH).transpose(0, 1, 3, 2, 4)
    return img.reshape(n, 1, GRID * PATCH, GRID * PATCH).astype(np.float32), y.astype(np.int64)
