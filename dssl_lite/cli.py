"""`dssl-lite`: the top layer. All argparse lives here; each command calls library functions.

Results go to stdout, progress to stderr. Bad input exits with code 2 and one line on stderr
naming the field and the allowed values; no traceback. Library modules never import this one.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import __version__
from .config import FIELD_NAMES, PRESETS, Config, from_dict
from .errors import ConfigError, WorkerError, short
from .registry import DATASETS, ENCODERS, OBJECTIVES, TOPOLOGIES
from .storage import DamagedFile, check_writable, no_space, write_json
from .sweep import MAX_RUNS, SweepError

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
                   help=f"any config field: {', '.join(FIELD_NAMES)}")


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


# ----- commands -----
def cmd_run(a) -> int:
    cfg = config_from_args(a)  # validated before any training
    check_out(a.out)
    from .experiment import run
    from .simulator import Diverged

    bars = {}

    def on_round(phase, rec):
        if phase not in bars:
            bars[phase] = progress(cfg.rounds, f"{phase} rounds")
        bars[phase].update(1)
        bars[phase].set_postfix(loss=f"{rec['loss']:.4f}")

    try:
        res = run(cfg, on_round=on_round)
    except Diverged as e:  # keep what finished: the rounds before the NaN, as JSON on stdout
        done = {"error": str(e), "phase": e.phase, "config": cfg.as_dict(), "history": e.history}
        if a.json:
            print(json.dumps(done))
        if a.out:
            write_json(a.out, done)
        print(f"dssl-lite: error: {e}; stopped, {len(e.history)} finished round(s) of the "
              f"{e.phase} run kept{' in ' + a.out if a.out else ''}", file=sys.stderr)
        return 1
    finally:
        for b in bars.values():
            b.close()
    if a.out:
        res.save(a.out)
    m = res.metrics
    if a.json:
        print(res.to_json())
    else:
        print(f"{cfg.objective} {cfg.topology} alpha={cfg.alpha} clients={cfg.clients} seed={cfg.seed}")
        print(f"  accuracy {m['accuracy']:.4f}  iid_accuracy {m['iid_accuracy']:.4f}  "
              f"robustness {m['robustness']:.4f}  untrained encoder {m['floor']:.4f}  ({res.seconds:.1f} s)")
    if m.get("warning"):
        print(f"dssl-lite: warning: {m['warning']}", file=sys.stderr)
    return 0


def cmd_demo(a) -> int:
    """The main job on the embedded default: each objective at one alpha, as a table."""
    base = config_from_args(a)
    if a.seeds < 1:
        raise ConfigError("seeds", f"got {a.seeds}; allowed: an integer >= 1")
    objectives = [o.strip() for o in a.objectives.split(",")]
    for o in objectives:
        OBJECTIVES.get(o)  # a bad name answers before any training
    from .demo import demo

    print(demo(base, objectives, seeds=a.seeds, progress=progress))
    return 0


def cmd_bench(a) -> int:
    clients = positive_ints(a.clients, "clients", 2)
    if a.seconds <= 0:
        raise ConfigError("seconds", f"got {a.seconds}; allowed: a number > 0")
    objectives = [o.strip() for o in a.objective.split(",")]
    for o in objectives:
        OBJECTIVES.get(o)  # a bad name answers before any timing
    from .bench import bench, format_bench

    if a.profile:
        from .bench import profile_step

        print(profile_step(clients[-1], objectives[0]))
        return 0
    from .storage import atomic_write

    if a.timings:
        from .bench import measure_timings

        check_writable(a.timings, "timings")
        t = measure_timings()
        atomic_write(Path(a.timings), json.dumps(t, indent=1))
        print(json.dumps(t, indent=1))
        return 0
    if a.out:
        check_writable(a.out, "out")
    out = bench(clients=clients, objective=objectives, live=not a.skip_live,
                compiled=(False,) if a.no_compile else (False, True), min_seconds=a.seconds)
    if a.out:
        atomic_write(Path(a.out), json.dumps(out, indent=1))
    print(json.dumps(out) if a.json else format_bench(out))
    return 0


def cmd_data(a) -> int:
    """Fetch a dataset into the data folder (needs the internet)."""
    from . import data

    ds = data.load(a.name, 32 if a.name.startswith("cifar") else 16, a.root, download=True)
    print(f"{a.name}: {len(ds.train_y)} train / {len(ds.test_y)} test images under {a.root or data.data_root()}")
    return 0


def cmd_notebooks(a) -> int:
    """Copy the teaching notebooks and example grids out of the installed package."""
    from .teaching import copy_material

    out = copy_material(a.dir, overwrite=a.force)
    print(f"copied {len(out['notebooks'])} notebooks to {Path(a.dir) / 'notebooks'} and "
          f"{len(out['examples'])} example grids to {Path(a.dir) / 'examples'}")
    print(f"next: cd {a.dir} && jupyter lab notebooks/00_explorer.ipynb   (needs the lab extra)")
    return 0


def cmd_sweep(a) -> int:
    from .sweep import sweep

    if a.max_runs < 1:
        raise ConfigError("max_runs", f"got {a.max_runs}; allowed: an integer >= 1")
    res = sweep(a.grid, a.out, a.executor, a.workers, a.num_cpus, a.num_gpus, a.address,
                max_runs=a.max_runs)
    print(f"sweep: {res['total']} runs, {res['ran']} ran ({len(res['damaged'])} of them damaged before), "
          f"{res['skipped']} already finished, {len(res['failed'])} failed; summary in "
          f"{Path(a.out) / 'summary.csv'}")
    for name in res["failed"]:
        print(f"  failed: {name} (see {Path(a.out) / name / 'error.json'})")
    return 1 if res["failed"] else 0


def cmd_report(a) -> int:
    if not Path(a.dir).is_dir():
        raise ConfigError("dir", f"no such folder: {a.dir}")
    from .sweep.summary import sweep_summary

    table = sweep_summary(a.dir)
    cols = [c for c in table.columns if c not in ("conclusion", "error")]
    print(table[cols].to_string(index=False) if not table.empty else "no finished runs")
    if "status" in table and (table["status"] == "damaged").any():
        for _, r in table[table["status"] == "damaged"].iterrows():
            print(f"  damaged, skipped: {r['run']} ({r['error']})", file=sys.stderr)
    return 0


def cmd_findings(a) -> int:
    """The four findings as the shipped atlases judge them: the verdicts every surface shows."""
    from . import findings
    from .findings.render import plain

    js = findings.judgements()
    if a.json:
        print(json.dumps([j.as_dict() for j in js], indent=1))
    else:
        print("\n\n".join(f"Finding {j.finding}: {plain(j)}" for j in js))
    return 0


def cmd_reproduce(a) -> int:
    """Train every arm of the findings at a preset over seeds (or pool earlier folders) and judge
    them as `dssl-lite findings` does, at this preset's scale."""
    numbers = positive_ints(a.finding, "finding") if a.finding else [1, 2, 3, 4]
    from . import findings as fd

    for f in numbers:
        fd.get(f)  # a bad number answers before any training
    if a.seeds < 1:
        raise ConfigError("seeds", f"got {a.seeds}; allowed: an integer >= 1")
    if a.threads < 1:
        raise ConfigError("threads", f"got {a.threads}; allowed: an integer >= 1")
    over = {**({"dataset": a.dataset} if a.dataset else {}), **parse_sets(a.set)}
    try:
        alphas = [float(v) for v in a.alphas.split(",")] if a.alphas else [None]
    except ValueError:
        raise ConfigError("alphas", f"got {short(a.alphas)}; allowed: comma-separated numbers > 0") from None
    check_out(a.out, "out", folder=True)
    merge = a.merge.split(",") if a.merge else []
    for d in merge:
        if not (Path(d) / "runs.csv").is_file():
            raise ConfigError("merge", f"{short(d)} holds no runs.csv (a `reproduce --out` folder)")
    bases = [(f, fd.get(f).base(a.preset, **over, **({"alpha": x} if x is not None else {})))
             for f in numbers for x in alphas]  # validated before anything trains
    import torch

    from .findings.render import plain, write_report
    from .runs import CsvStore, get_or_run

    torch.set_num_threads(a.threads)
    store = CsvStore(Path(a.out or ".") / "runs.csv") if (a.out or merge) else None
    if merge:  # pool the rows of other folders (seeds run elsewhere) into this one
        store.add([r for d in merge for r in CsvStore(Path(d) / "runs.csv").table.to_dict("records")])
    seeds = list(range(a.seed0, a.seed0 + a.seeds))
    judged, rows = [], {}
    for f, base in bases:
        spec = fd.get(f)
        if merge:  # no training: what the pooled rows hold
            got = store.table
        else:
            say = lambda i, n, s, f=f: print(f"finding {f}: group {i}/{n} done ({s:.1f} s)", file=sys.stderr, flush=True)
            got = get_or_run(spec.configs(base, seeds), store, a.preset, drift=spec.drift, on_group=say)
        j = spec.judge(base, got)
        rows[f] = spec.rows(base, got)
        judged.append(j)
    if a.json:
        print(json.dumps([j.as_dict() for j in judged], indent=1))
    elif a.out:
        print(write_report(a.out, judged, rows))
    else:
        print("\n\n".join(f"Finding {j.finding}: {plain(j)}" for j in judged))
    return 0


def cmd_atlas(a) -> int:
    from . import atlas

    if a.action == "build":
        spec = atlas.read_grid(a.grid)
        cfgs = atlas.expand(spec)  # validates everything before any training
        out = Path(a.out or atlas.SHIPPED / f"{spec.get('preset', 'live')}.csv")
        check_out(str(out))
        print(f"atlas: {len(cfgs)} rows in the grid; building into {out}", file=sys.stderr)
        failed = []

        def on_error(i, n, e):
            failed.append(i)
            print(f"  group {i}/{n} failed, moving on: {e}", file=sys.stderr, flush=True)

        table = atlas.build(spec, out, on_group=lambda i, n, s: print(
            f"  group {i}/{n} done ({s:.1f} s)", file=sys.stderr, flush=True), on_error=on_error)
        print(f"atlas: {len(table)} rows in {out}" + (f"; {len(failed)} group(s) failed (run the build "
                                                      "again to retry them)" if failed else ""))
        return 1 if failed else 0
    path = Path(a.atlas or atlas.SHIPPED / "live.csv")
    if not path.is_file():
        raise ConfigError("atlas", f"no such file: {path}")
    if a.rows < 1:
        raise ConfigError("rows", f"got {a.rows}; allowed: an integer >= 1")
    out = atlas.verify(path, a.rows, a.seed)
    for r in out["rows"]:
        flag = "" if r["difference"] <= atlas.TOLERANCE else "  DIFFERS"
        print(f"row {r['row']} ({r['key']}): robustness {r['robustness']:.6f} vs atlas "
              f"{r['atlas_robustness']:.6f}, largest difference {r['difference']:.2e}{flag}")
    engines = f"atlas {', '.join(out['atlas_engine'])}, now {out['engine']}"
    if out["ok"]:
        print(f"all {len(out['rows'])} rows identical (largest difference {out['max_difference']:.2e})"
              + ("" if out["same_engine"] else f"; the engine's source has changed since ({engines}), its numbers have not"))
        return 0
    bad = [str(r["row"]) for r in out["rows"] if r["difference"] > atlas.TOLERANCE]
    print(f"rows {', '.join(bad)} differ from the atlas by up to {out['max_difference']:.2e} ({engines}): "
          f"rebuild it with `dssl-lite atlas build <its grid> --out {path}` after deleting the file")
    return 1


# ----- the parser -----
def build_parser() -> Parser:
    p = Parser(prog="dssl-lite", description="Distributed self-supervised learning under non-IID data, "
               "every client vectorised in one process.",
               epilog="Examples: dssl-lite demo | dssl-lite run --objective cl --alpha 0.01 --json | "
                      "dssl-lite <command> --help")
    p.add_argument("--version", action="version", version=f"dssl-lite {__version__}")
    sub = p.add_subparsers(dest="cmd", metavar="command", parser_class=Parser)

    r = sub.add_parser("run", help="one experiment: the non-IID run and its IID baseline")
    add_config_args(r)
    r.add_argument("--json", action="store_true", help="print one JSON object")
    r.add_argument("--out", default=None, help="also save result.json at this file path")
    r.set_defaults(func=cmd_run)

    d = sub.add_parser("demo", help="each objective on the embedded default, as a table")
    add_config_args(d)
    d.add_argument("--objectives", default="mim,cl",
                   help=f"comma list of objectives to compare ({', '.join(OBJECTIVES)})")
    d.add_argument("--seeds", type=int, default=3, help="seeds per objective (mean, spread and a paired interval)")
    d.set_defaults(func=cmd_demo)

    b = sub.add_parser("bench", help="speed as a roofline: every execution strategy against the FLOP limit")
    b.add_argument("--clients", default="10,100,1000", help="comma list of client counts")
    b.add_argument("--seconds", type=float, default=2.0, help="seconds of steady steps timed per row")
    b.add_argument("--objective", default="mim", help="objective(s) to time, a comma list (mim,cl)")
    b.add_argument("--no-compile", action="store_true", help="skip the torch.compile rows (cold compiles take a minute)")
    b.add_argument("--skip-live", action="store_true", help="skip the live-preset end-to-end timing")
    b.add_argument("--profile", action="store_true",
                   help="instead: where one vmapped step's time goes, at the last client count")
    b.add_argument("--json", action="store_true", help="print one JSON object")
    b.add_argument("--out", default=None, help="also write the JSON to this file (the docs' speed tables read it)")
    b.add_argument("--timings", default=None, metavar="FILE",
                   help="instead: time cold live Runs of 1 and 3 seeds per objective into FILE "
                        "(data/atlas/timings.json: the explorer's estimate and the README's times)")
    b.set_defaults(func=cmd_bench)

    g = sub.add_parser("data", help="download a dataset into the data folder (online only)")
    g.add_argument("name", choices=[n for n in DATASETS.names() if not DATASETS.get(n).meta.get("offline")],
                   help="dataset to fetch")
    g.add_argument("--root", default=None, help="folder to put it in (default: $DSSL_DATA, else data/ in a source checkout, "
                        "else the user cache folder)")
    g.set_defaults(func=cmd_data)

    n = sub.add_parser("notebooks", help="copy the teaching notebooks and example grids into a folder")
    n.add_argument("dir", help="folder to create or fill: DIR/notebooks/*.ipynb and DIR/examples/*.yaml")
    n.add_argument("--force", action="store_true", help="overwrite files that are already there")
    n.set_defaults(func=cmd_notebooks)

    s = sub.add_parser("sweep", help="run a YAML grid of notebooks or configs (papermill, local or Ray)")
    s.add_argument("grid", help="YAML file: notebook?, preset?, parameters, grid")
    s.add_argument("--out", required=True, help="folder for one sub-folder per run and the summary")
    s.add_argument("--executor", choices=("local", "ray"), default="local", help="where runs execute")
    s.add_argument("--workers", type=int, default=1, help="runs at once (local processes / Ray tasks in flight)")
    s.add_argument("--num-cpus", type=float, default=1, help="CPUs per run (Ray)")
    s.add_argument("--num-gpus", type=float, default=0, help="GPUs per run (Ray)")
    s.add_argument("--address", default=None,
                   help="join this Ray cluster; omitted: a private local Ray on 127.0.0.1, no dashboard")
    s.add_argument("--max-runs", type=int, default=MAX_RUNS,
                   help=f"refuse grids with more runs than this (default {MAX_RUNS:,})")
    s.set_defaults(func=cmd_sweep)

    rp = sub.add_parser("report", help="summary table and plots of a sweep folder")
    rp.add_argument("dir", help="a sweep's --out folder")
    rp.set_defaults(func=cmd_report)

    fi = sub.add_parser("findings", help="the paper's four findings as the shipped atlases judge them")
    fi.add_argument("--json", action="store_true", help="print a JSON list, one object per finding")
    fi.set_defaults(func=cmd_findings)

    f = sub.add_parser("reproduce", help="train the findings' arms at a preset over seeds and judge them")
    f.add_argument("--finding", default=None, help="comma list of 1,2,3,4 (default: all)")
    f.add_argument("--seeds", type=int, default=5, help="number of seeds")
    f.add_argument("--seed0", type=int, default=0, help="first seed")
    f.add_argument("--preset", default="live", help=f"the scale: any preset ({', '.join(PRESETS)}); each finding "
                   "keeps its own setting (alpha 0.01, its graphs and objectives) on top")
    f.add_argument("--dataset", default=None, choices=DATASETS.names(), help="dataset for every arm")
    f.add_argument("--alphas", default=None, help="judge at these alphas instead (comma list)")
    f.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE", help="any config field")
    f.add_argument("--out", default=None, help="write runs.csv, markdown and a png per finding here")
    f.add_argument("--merge", default=None, metavar="DIR,DIR",
                   help="no training: pool the runs.csv of these folders into --out")
    f.add_argument("--threads", type=int, default=1, help="torch threads (1 is steadiest on shared CPUs)")
    f.add_argument("--json", action="store_true", help="print the judgements as JSON")
    f.set_defaults(func=cmd_reproduce)

    at = sub.add_parser("atlas", help="measured grids behind the explorer: build one, or verify rows")
    at_sub = at.add_subparsers(dest="action", required=True, metavar="action", parser_class=Parser)
    ab = at_sub.add_parser("build", help="train a grid's missing rows into an atlas CSV (resumable)")
    ab.add_argument("grid", help="YAML: preset, seeds, groups of field: [values]")
    ab.add_argument("--out", default=None, help="the CSV (default: the package's atlas for the preset)")
    ab.set_defaults(func=cmd_atlas)
    av = at_sub.add_parser("verify", help="re-run random rows and report the largest difference")
    av.add_argument("--atlas", default=None, help="the CSV (default: the package's live atlas)")
    av.add_argument("--rows", type=int, default=3, help="how many random rows to re-run")
    av.add_argument("--seed", type=int, default=0, help="which random rows")
    av.set_defaults(func=cmd_atlas)
    return p


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    try:
        a = parser.parse_args(argv)
        if not getattr(a, "func", None):
            parser.print_help()
            return 0
        return a.func(a)
    except (ConfigError, ArgumentError, FileNotFoundError, DamagedFile) as e:  # FileNotFoundError: a dataset
        print(f"dssl-lite: error: {e}", file=sys.stderr)
        return 2
    except (SweepError, WorkerError) as e:  # folder in use, disk full, Ray down, workers dying: finished work is kept
        print(f"dssl-lite: error: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        if not no_space(e):
            raise
        print(f"dssl-lite: error: no space left to write {e.filename or 'the output'}; nothing half-written "
              "was left", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("dssl-lite: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
