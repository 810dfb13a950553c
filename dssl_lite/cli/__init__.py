"""`dssl-lite`: the top layer. All argparse lives here (`args.py` resolves a config, `commands.py`
holds the commands); each command calls library functions.

Results go to stdout, progress to stderr. Bad input exits with code 2 and one line on stderr
naming the field and the allowed values; no traceback. Library modules never import this one.
"""
from __future__ import annotations

import sys

from .. import __version__
from ..errors import ConfigError, WorkerError
from ..presets import PRESETS
from ..registry import DATASETS, OBJECTIVES
from ..storage import DamagedFile, no_space
from ..sweep import MAX_RUNS, SweepError
from .args import ArgumentError, Parser, add_config_args, resolve_config  # noqa: F401  (the package's surface)
from .commands import (
    cmd_atlas,
    cmd_bench,
    cmd_data,
    cmd_demo,
    cmd_findings,
    cmd_notebooks,
    cmd_report,
    cmd_reproduce,
    cmd_run,
    cmd_sweep,
    cmd_warm,
)


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

    b = sub.add_parser("bench", help="speed side by side: the plain loop a user would write and every strategy, "
                       "as ratios and against the FLOP limit")
    b.add_argument("--clients", default="10,100,1000", help="comma list of client counts")
    b.add_argument("--seconds", type=float, default=2.0, help="seconds of steady steps timed per row")
    b.add_argument("--objective", default="mim", help="objective(s) to time, a comma list (mim,cl)")
    b.add_argument("--strategies", default=None, help="comma list (default: all; the plain loop first)")
    b.add_argument("--reps", type=int, default=2, help="repetitions, interleaved; rows report the median")
    b.add_argument("--profile", action="store_true",
                   help="instead: where one vmapped step's time goes, at the last client count")
    b.add_argument("--json", action="store_true", help="print one JSON object")
    b.add_argument("--out", default=None, help="also write the JSON to this file (the docs' speed tables read it)")
    b.add_argument("--timings", default=None, metavar="FILE",
                   help="instead: time cold live Runs of 1 and 3 seeds per objective into FILE "
                        "(data/atlas/timings.json: the explorer's estimate and the README's times)")
    b.set_defaults(func=cmd_bench)

    w = sub.add_parser("warm", help="compile the lesson scale's local step once (torch.compile's cache)")
    w.add_argument("--preset", default="live", help="a compiled preset")
    w.add_argument("--objectives", default="mim,cl,mar,simclr", help="comma list of objectives")
    w.set_defaults(func=cmd_warm)

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
