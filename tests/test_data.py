import pickle

import numpy as np
import pytest

from dssl_lite import data



def test_embedded_default_is_real_and_offline():
    d = data.load("mnist5k", 16)
    assert d.train_x.shape == (4000, 1, 16, 16) and d.test_x.shape == (1000, 1, 16, 16)
    assert d.num_classes == 10 and abs(float(d.train_x.mean())) < 1e-3
    assert np.bincount(d.test_y.numpy()).tolist() == [100] * 10


@pytest.mark.parametrize("name", ["digits", "synthetic"])
def test_other_offline_sets(name):
    d = data.load(name, 16)
    assert d.train_x.shape[1:] == (1, 16, 16) and d.num_classes == 10


def _write_cifar(root, n=20):
    """A tiny file set in CIFAR-10's own pickle format, so the real torchvision loader reads it."""
    base = root / "cifar-10-batches-py"
    base.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
                 "labels": [int(v) for v in rng.integers(0, 10, n)], "batch_label": name}
        with open(base / name, "wb") as f:
            pickle.dump(batch, f)
    with open(base / "batches.meta", "wb") as f:
        pickle.dump({"label_names": [f"c{i}" for i in range(10)]}, f)


def test_cifar_loader_reads_cifar_format(tmp_path, monkeypatch):
    import torchvision.datasets.cifar as tv_cifar

    monkeypatch.setattr(tv_cifar, "check_integrity", lambda *a, **k: True)  # md5s are of the real files
    monkeypatch.setattr(tv_cifar.CIFAR10, "_check_integrity", lambda self: True)
    _write_cifar(tmp_path)
    d = data.load_cifar("cifar10", 16, tmp_path)
    assert d.train_x.shape == (100, 3, 16, 16) and d.test_x.shape == (20, 3, 16, 16)


def test_missing_cifar_says_how_to_get_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="dssl-lite data cifar10"):
        data.load_cifar("cifar10", 16, tmp_path)


def test_fashion_mnist_downloads_over_https_only(tmp_path, monkeypatch):
    """No network here: record the URLs torchvision would fetch, and refuse them."""
    import torchvision.datasets.mnist as tv_mnist

    from dssl_lite import data

    urls = []

    def fake(url, *a, **k):
        urls.append(url)
        raise OSError("no network in this test")

    monkeypatch.setattr(tv_mnist, "download_and_extract_archive", fake)
    monkeypatch.setattr(data, "DEBIAN_FASHION", tmp_path / "absent")
    with pytest.raises(FileNotFoundError, match="could not download fashion_mnist"):
        data.load_fashion_mnist(28, root=tmp_path, download=True)
    assert urls and all(u.startswith("https://") for u in urls), urls
