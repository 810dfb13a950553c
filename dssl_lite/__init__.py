"""dssl-lite: distributed self-supervised learning under non-IID data, all clients at once.

    >>> from dssl_lite import preset, run
    >>> res = run(preset("live", objective="cl", alpha=0.1))
    >>> res.robustness
"""
import os

# Torch's OpenMP threads spin while idle and slow 5-20x beside another busy process (a second
# kernel, parallel tests, Ray workers). Passive waiting must be set before torch is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from .config import Config, ConfigError, PRESETS, from_dict, preset  # noqa: E402
from .experiment import run, train  # noqa: E402
from .results import Result  # noqa: E402
from .simulator import Simulator, Stopped  # noqa: E402

__version__ = "0.1.0"
__all__ = ["Config", "ConfigError", "PRESETS", "Result", "Simulator", "Stopped", "from_dict",
           "preset", "run", "train", "__version__"]
