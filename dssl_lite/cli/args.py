"""What every command shares: a preset, the named flags and `--set FIELD=VALUE` resolved into one
validated `Config`, and small argument checks that answer before any work (one line, exit 2)."""
from __future__ import annotations

import argparse
import sys

from ..config import Config, field_names, from_dict
from ..errors import ConfigError, short
from ..presets import PRESETS
from ..registry import DATASETS, ENCODERS, OBJECTIVES, TOPOLOGIES
from ..storage import check_writable

# CLI flag -> (config field type, help); any other field is reachable through --set FIELD=VALUE
FLAGS = {"dataset": (str, "dataset"),
         "clients": (int, "number of clients K"),
         "alpha": (str, "Dirichlet concentration (smaller = more skewed) or 'iid'"),
         "topology": (str, "fl (server) or a DecL gossip graph"),
         "degree": (int, "node degree of a regular / expected degree of an erdos_renyi graph"),
         "objective": (str, "self-supervised objective"),
         "model": (str, "encoder"),
         "rounds": (int, "communication rounds"),
         "local_steps": (int, "local optimizer steps per round"),
         "seed": (int, "seed of partition, graph, initial model and batches"),
         "device": (str, "where to train; auto = CUDA when present"),
         "batch_size": (int, "images per client per local step"),
         "lr": (float, "peak learning rate (AdamW)"),
         "probe": (str, "headline probe on frozen features")}
CHOICES = {"dataset": DATASETS, "topology": TOPOLOGIES, "objective": OBJECTIVES, "model": ENCODERS,
           "device": ("auto", "cpu", "cuda"), "probe": ("knn", "linear")}


class ArgumentError(Exception):
    pass


class Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse's own errors: one line, exit 2
        raise ArgumentError(message)


# ----- one helper resolves presets, flags and --set into a Config -----
def parse_sets(pairs: list[str]) -> dict:
    """`["lr=0.01", "alpha=none"]` -> `{"lr": "0.01", "alpha": None}` (values coerced by `from_dict`)."""
    out = {}
    for kv in pairs:
        if "=" not in kv:
            raise ConfigError("set", f"got {short(kv)}; expected FIELD=VALUE")
        k, v = kv.split("=", 1)
        if not k.strip():
            raise ConfigError("set", f"got {short(kv)}; expected FIELD=VALUE with a field name")
        out[k.strip()] = None if v.strip().lower() in ("none", "null") else v.strip()
    return out


def resolve_config(preset_name: str, flags: dict, sets: list[str]) -> Config:
    """A preset, then the named flags that were given, then `--set` pairs; validated."""
    if preset_name not in PRESETS:
        raise ConfigError("preset", f"got {short(preset_name)}; allowed: {', '.join(PRESETS)}")
    over = {k: v for k, v in flags.items() if v is not None}
    return from_dict({**PRESETS[preset_name], **over, **parse_sets(sets)})


def config_from_args(a: argparse.Namespace) -> Config:
    return resolve_config(a.preset, {k: getattr(a, k) for k in FLAGS}, a.set)


def add_config_args(p: argparse.ArgumentParser, preset_default: str = "live") -> None:
    p.add_argument("--preset", default=preset_default, help=f"starting values: {', '.join(PRESETS)}")
    for name, (typ, help_) in FLAGS.items():
        choices = CHOICES.get(name)
        if choices is not None:
            help_ += f" ({', '.join(choices)})"
        p.add_argument("--" + name.replace("_", "-"), dest=name, type=typ, default=None, help=help_)
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                   help=f"any config field: {', '.join(field_names())}")


def progress(total: int, desc: str):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, file=sys.stderr, leave=False, disable=None)


def positive_ints(text: str, field: str, lo: int = 1) -> list[int]:
    """`"10,100"` -> `[10, 100]`, or a ConfigError naming `field`."""
    try:
        vals = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ConfigError(field, f"got {short(text)}; allowed: comma-separated integers >= {lo}") from None
    if not vals or min(vals) < lo:
        raise ConfigError(field, f"got {short(text)}; allowed: comma-separated integers >= {lo}")
    return vals


def check_out(path: str | None, field: str = "out", folder: bool = False) -> None:
    """An output path must be writable (as a file, or a folder): checked before any training."""
    if path is not None:
        check_writable(path, field, folder)


