"""The `patches` synthetic dataset: shapes, balance, determinism and where the label lives."""
import numpy as np

from dssl_lite.synthetic import dct_basis, generate


def test_patches_shapes_balance_determinism():
    x, y = generate(n_per_class=30)
    assert x.shape == (300, 1, 16, 16) and x.dtype == np.float32 and y.dtype == np.int64
    assert np.bincount(y).tolist() == [30] * 10
    x2, y2 = generate(n_per_class=30)
    assert np.array_equal(x, x2) and np.array_equal(y, y2)
    assert not np.array_equal(x, generate(n_per_class=30, seed=1)[0])
    b = dct_basis().reshape(16, 16)
    assert np.allclose(b @ b.T, np.eye(16), atol=1e-10)


def test_patches_label_lives_only_in_private_directions():
    x, y = generate(n_per_class=200)
    p = x.reshape(-1, 4, 4, 4, 4).transpose(0, 1, 3, 2, 4).reshape(len(x), 16, 16)  # (N, L, 16 px)
    coef = p @ dct_basis().reshape(16, 16).T                                       # DCT coefficients
    energy = (coef ** 2).mean(1)                                                    # (N, 16)
    per_class = np.stack([energy[y == c].mean(0) for c in range(10)])               # (10, 16)
    assert np.allclose(per_class[:, :6], per_class[:, :6].mean(0), rtol=0.1)        # shared: same
    assert (per_class[:, 6:].argmax(1) == np.arange(10)).all()                      # private: own
    assert np.abs(np.stack([coef[y == c].mean((0, 1)) for c in range(10)])).max() < 0.1  # no mean cue


def test_patches_loads_through_data():
    from dssl_lite import data

    d = data.load("patches", 16)
    assert d.train_x.shape == (4000, 1, 16, 16) and d.num_classes == 10
    assert np.bincount(d.train_y.numpy()).tolist() == [400] * 10
    assert abs(float(d.train_x.mean())) < 1e-4
