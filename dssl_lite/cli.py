"""`dssl-lite`: run, demo, bench (and the subcommands other modules register).

Results go to stdout, progress to stderr. Bad input exits with code 2 and one line on stderr
naming the field and the allowed values; no traceback.
"""
from __future__ import annotations

import argparse
import json
import sys

from .config import FIELD_NAMES, PRESETS, ConfigError, from_dict

# CLI flag -> config field, for the flags DESIGN.md section 5 fixes (others use --set k=v)
FLAGS = {"dataset": str, "clients": int, "alpha": str, "topology": str, "degree": int,
         "objective": str, "model": str, "rounds": int, "local_steps": int, "seed": int,
         "device": str, "batch_size": int, "lr": float, "probe": str}


class ArgumentError(Exception):
    pass


class Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse's own errors: one line, exit 2
        raise ArgumentError(message)


def add_config_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--preset", default="live", help=f"one of: {', '.join(PRESETS)}")
    for name, typ in FLAGS.items():
        p.add_argument("--" + name.replace("_", "-"), dest=name, type=typ, default=None)
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                   help=f"any config field: {', '.join(FIELD_NAMES)}")


def config_from_args(a: argparse.Namespace):
    if a.preset not in PRESETS:
        raise ConfigError("preset", f"got {a.preset!r}; allowed: {', '.join(PRESETS)}")
    over = {k: getattr(a, k) for k in FLAGS if getattr(a, k) is not None}
    for kv in a.set:
        if "=" not in kv:
            raise ConfigError("set", f"got {kv!r}; expected FIELD=VALUE")
        k, v = kv.split("=", 1)
        over[k.strip()] = None if v.strip().lower() in ("none", "null") else v.strip()
    return from_dict({**PRESETS[a.preset], **over})


def progress(total: int, desc: str):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, file=sys.stderr, leave=False, disable=None)


def cmd_run(a) -> int:
    cfg = config_from_args(a)  # validate before importing torch: bad input answers at once
    from .experiment import run

    bars = {}

    def on_round(phase, rec):
        if phase not in bars:
            bars[phase] = progress(cfg.rounds, f"{phase} rounds")
        bars[phase].update(1)
        bars[phase].set_postfix(loss=f"{rec['loss']:.4f}")

    from .results import write_json
    from .simulator import Diverged

    try:
        res = run(cfg, on_round=on_round)
    except Diverged as e:  # keep what finished: the rounds before the NaN, as JSON on stdout
        done = {"error": str(e), "phase": e.phase, "config": cfg.as_dict(), "history": e.history}
        if a.json:
            print(json.dumps(done))
        if a.out:
            write_json(a.out, json.dumps(done, indent=1))
        print(f"dssl-lite: error: {e}; stopped, {len(e.history)} finished round(s) of the "
              f"{e.phase} run kept{' in ' + a.out if a.out else ''}", file=sys.stderr)
        return 1
    finally:
        for b in bars.values():
            b.close()
    if a.out:
        res.save(a.out)
    if a.json:
        print(res.to_json())
    else:
        m = res.metrics
        print(f"{cfg.objective} {cfg.topology} alpha={cfg.alpha} clients={cfg.clients} seed={cfg.seed}")
        print(f"  accuracy {m['accuracy']:.4f}  iid_accuracy {m['iid_accuracy']:.4f}  "
              f"robustness {m['robustness']:.4f}  ({res.seconds:.1f} s)")
    return 0


def cmd_demo(a) -> int:
    """The main job on the embedded default: each objective at one alpha, as a table."""
    base = config_from_args(a)
    from .experiment import run

    rows = []
    objectives = a.objectives.split(",")
    bar = progress(len(objectives), "objectives")
    for obj in objectives:
        res = run(base.replace(objective=obj))
        rows.append((obj, res.accuracy, res.iid_accuracy, res.robustness, res.seconds))
        bar.update(1)
    bar.close()
    print(f"dssl-lite demo: {base.dataset}, {base.clients} clients, {base.topology}, alpha={base.alpha}, "
          f"{base.rounds} rounds x {base.local_steps} local steps, {base.probe} probe, seed {base.seed}")
    print(f"{'objective':<10}{'accuracy':>10}{'iid_acc':>10}{'robustness':>12}{'seconds':>9}")
    for obj, acc, iid, rob, sec in rows:
        print(f"{obj:<10}{acc:>10.4f}{iid:>10.4f}{rob:>12.4f}{sec:>9.1f}")
    print("robustness = accuracy(non-IID) / accuracy(IID); 1.0 = no loss from non-IID data.")
    return 0


def cmd_bench(a) -> int:
    from .bench import bench

    out = bench(clients=[int(c) for c in a.clients.split(",")], steps=a.steps, objective=a.objective,
                live=not a.skip_live)
    print(json.dumps(out) if a.json else format_bench(out))
    return 0


def cmd_data(a) -> int:
    """Fetch a dataset into data/ (needs the internet for cifar10/100 and fashion_mnist)."""
    from . import data

    ds = data.load(a.name, 32 if a.name.startswith("cifar") else 16, a.root, download=True)
    print(f"{a.name}: {len(ds.train_y)} train / {len(ds.test_y)} test images under {a.root}")
    return 0


def format_bench(out: dict) -> str:
    lines = [f"device {out['device']}, matmul {out['matmul_gflops']:.1f} GFLOP/s",
             f"{'clients':>8}{'vec steps/s':>13}{'seq steps/s':>13}{'ratio':>8}{'peak MB':>9}"]
    for k, r in out["runs"].items():
        lines.append(f"{k:>8}{r['vectorized_steps_per_s']:>13.1f}{r['sequential_steps_per_s']:>13.1f}"
                     f"{r['ratio']:>8.2f}{r['peak_mb']:>9.0f}")
    lines.append(f"achieved fraction of matmul peak (vectorised, largest K): {out['achieved_fraction']:.3f}")
    if out.get("live_seconds") is not None:
        lines.append(f"live preset end to end, cold, IID baseline included ({out['objective']}): "
                     f"{out['live_seconds']:.1f} s (goal < 10 s on 2 CPU cores)")
    return "\n".join(lines)


def build_parser() -> Parser:
    p = Parser(prog="dssl-lite", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True, parser_class=Parser)
    r = sub.add_parser("run", help="one experiment (non-IID run + IID baseline)")
    add_config_args(r)
    r.add_argument("--json", action="store_true", help="print one JSON object")
    r.add_argument("--out", default=None, help="also save result.json here")
    r.set_defaults(func=cmd_run)
    d = sub.add_parser("demo", help="each objective on the embedded default, as a table")
    add_config_args(d)
    d.add_argument("--objectives", default="mim,cl,mar")
    d.set_defaults(func=cmd_demo)
    b = sub.add_parser("bench", help="vectorised vs sequential clients, and matmul peak")
    b.add_argument("--clients", default="10,20,100")
    b.add_argument("--steps", type=int, default=5)
    b.add_argument("--objective", default="mim", choices=["mim", "cl", "mar", "simclr"])
    b.add_argument("--skip-live", action="store_true", help="skip the live-preset end-to-end timing")
    b.add_argument("--json", action="store_true")
    b.set_defaults(func=cmd_bench)
    g = sub.add_parser("data", help="download a dataset into data/ (online only)")
    g.add_argument("name", choices=["fashion_mnist", "cifar10", "cifar100"])
    g.add_argument("--root", default=None)
    g.set_defaults(func=cmd_data)
    for register in EXTRA_COMMANDS:
        register(sub)
    return p


EXTRA_COMMANDS: list = []  # other modules append `register(subparsers)` callables here


def _load_extras():
    import importlib

    for mod in ("sweep", "reproduce", "features"):
        try:
            m = importlib.import_module(f"dssl_lite.{mod}")
        except ImportError:
            continue
        if hasattr(m, "register_cli") and m.register_cli not in EXTRA_COMMANDS:
            EXTRA_COMMANDS.append(m.register_cli)


BUILTIN = ("run", "demo", "bench", "data")


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] not in BUILTIN:  # extras import heavier modules: only when asked
        _load_extras()
    try:
        a = build_parser().parse_args(argv)
        return a.func(a)
    except (ConfigError, ArgumentError, FileNotFoundError) as e:  # FileNotFoundError: a dataset
        print(f"dssl-lite: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("dssl-lite: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
