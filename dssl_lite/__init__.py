"""dssl-lite: distributed self-supervised learning under non-IID data, all clients at once.

    >>> from dssl_lite import preset, run
    >>> res = run(preset("live", objective="cl", alpha=0.1))
    >>> res.robustness
"""
import importlib
import os

# Torch's OpenMP threads spin while idle and slow 5-20x beside another busy process (a second
# kernel, parallel tests, Ray workers). Passive waiting must be set before torch is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"

# Imported lazily (PEP 562) so that `dssl-lite --help` and config errors answer without torch.
_EXPORTS = {"Config": "config", "ConfigError": "errors", "PRESETS": "presets", "from_dict": "config",
            "preset": "presets", "run": "experiment", "run_many": "experiment", "run_seeds": "experiment",
            "train": "experiment", "Result": "results", "Simulator": "simulator", "Stopped": "errors",
            "Diverged": "errors"}
__all__ = [*_EXPORTS, "__version__"]


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'dssl_lite' has no attribute {name!r}")
