"""A run's result: config, seed, versions, history, metrics and wall time; to JSON and pandas."""
from __future__ import annotations

import functools
import hashlib
import json
import platform
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Optional

from .storage import DamagedFile, atomic_write, read_json

PACKAGES = ("dssl-lite", "torch", "torchvision", "timm", "numpy", "scikit-learn", "umap-learn")


def versions() -> dict:
    """Python and package versions, so every saved number says what produced it."""
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


@functools.lru_cache(maxsize=1)
def engine_hash() -> str:
    """A hash of the engine's source (every module but the command line and the reporting ones):
    rows built by the same engine re-run to the same numbers on the same CPU."""
    here = Path(__file__).resolve().parent
    skip = {"cli.py", "atlas.py", "report.py", "demo.py", "study.py", "findings.py", "runs.py", "bench.py",
            "docgen.py", "fidelity.py"}
    h = hashlib.sha256()
    for p in sorted(here.rglob("*.py")):
        if p.name not in skip and "sweep" not in p.relative_to(here).parts:
            h.update(p.relative_to(here).as_posix().encode() + p.read_bytes())
    return h.hexdigest()[:12]


@dataclass
class Result:
    """One experiment: the non-IID run and its IID baseline (same config, `alpha=None`).

    `metrics` holds `accuracy`, `iid_accuracy`, `robustness` (= accuracy / iid_accuracy, the
    paper's measure), `drop` (= iid_accuracy - accuracy) and setting descriptors."""

    config: dict
    metrics: dict
    history: list = field(default_factory=list)
    iid_history: list = field(default_factory=list)
    seconds: float = 0.0
    versions: dict = field(default_factory=versions)

    @property
    def seed(self) -> int:
        return self.config["seed"]

    @property
    def accuracy(self) -> float:
        return self.metrics["accuracy"]

    @property
    def iid_accuracy(self) -> float:
        return self.metrics["iid_accuracy"]

    @property
    def robustness(self) -> float:
        return self.metrics["robustness"]

    def to_dict(self) -> dict:
        """Flat JSON contract: metrics at the top level beside config, seed, history, seconds."""
        return {**self.metrics, "seconds": self.seconds, "seed": self.seed, "config": self.config,
                "history": self.history, "iid_history": self.iid_history, "versions": self.versions}

    def to_json(self, indent: Optional[int] = None) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def save(self, path) -> Path:
        """Write atomically (temp file + fsync + rename): never half a file."""
        return atomic_write(path, self.to_json(indent=1))

    @classmethod
    def from_dict(cls, d: dict) -> "Result":
        skip = {"seconds", "seed", "config", "history", "iid_history", "versions"}
        return cls(config=d["config"], metrics={k: v for k, v in d.items() if k not in skip},
                   history=d.get("history", []), iid_history=d.get("iid_history", []),
                   seconds=d.get("seconds", 0.0), versions=d.get("versions", {}))

    @classmethod
    def load(cls, path) -> "Result":
        """Read a saved result; a damaged or incomplete file raises `storage.DamagedFile`."""
        d = read_json(path)
        missing = [k for k in ("config", "accuracy", "iid_accuracy", "robustness") if k not in d]
        if missing:
            raise DamagedFile(Path(path), f"missing {', '.join(missing)}")
        return cls.from_dict(d)

    def to_frame(self):
        """Per-round history as a DataFrame (one row per round and phase), config columns added."""
        import pandas as pd

        rows = [{"phase": "non_iid", **h} for h in self.history] + [{"phase": "iid", **h} for h in self.iid_history]
        df = pd.DataFrame(rows).drop(columns=["client_loss"], errors="ignore")
        for k in ("objective", "topology", "alpha", "degree", "clients", "seed"):
            df[k] = self.config[k]
        return df

    def summary_row(self) -> dict:
        """One flat row (config + scalar metrics) for tables over many runs."""
        scalars = {k: v for k, v in self.metrics.items() if isinstance(v, (int, float, str)) or v is None}
        return {**self.config, **scalars, "seconds": self.seconds}
