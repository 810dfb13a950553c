"""The commands: each reads its arguments, calls library functions, prints results on stdout and
progress on stderr, and returns an exit code (0 done, 1 a difference or a failure worth knowing,
2 bad input, raised as ConfigError and printed by `main`)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from ..errors import ConfigError, short
from ..registry import OBJECTIVES
from ..storage import check_writable, write_json
from .args import check_out, config_from_args, parse_sets, positive_ints, progress


def cmd_run(a) -> int:
    cfg = config_from_args(a)  # validated before any training
    check_out(a.out)
    from ..errors import Diverged
    from ..experiment import run

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
    from ..demo import demo

    print(demo(base, objectives, seeds=a.seeds, progress=progress))
    return 0


def cmd_bench(a) -> int:
    clients = positive_ints(a.clients, "clients", 2)
    if a.seconds <= 0:
        raise ConfigError("seconds", f"got {a.seconds}; allowed: a number > 0")
    objectives = [o.strip() for o in a.objective.split(",")]
    for o in objectives:
        OBJECTIVES.get(o)  # a bad name answers before any timing
    from ..bench import bench, format_bench

    if a.profile:
        from ..bench import profile_step

        print(profile_step(clients[-1], objectives[0]))
        return 0
    from ..storage import atomic_write

    if a.timings:
        from ..bench import measure_timings

        check_writable(a.timings, "timings")
        t = measure_timings()
        atomic_write(Path(a.timings), json.dumps(t, indent=1))
        print(json.dumps(t, indent=1))
        return 0
    if a.reps < 1:
        raise ConfigError("reps", f"got {a.reps}; allowed: an integer >= 1")
    from ..bench import STRATEGIES

    strategies = [s.strip() for s in a.strategies.split(",")] if a.strategies else list(STRATEGIES)
    for s in strategies:
        if s not in STRATEGIES:
            raise ConfigError("strategies", f"got {short(s)}; allowed: {', '.join(STRATEGIES)}")
    if a.out:
        check_writable(a.out, "out")
    out = bench(clients=clients, objectives=objectives, strategies=strategies, reps=a.reps, min_seconds=a.seconds)
    if a.out:
        atomic_write(Path(a.out), json.dumps(out, indent=1))
    print(json.dumps(out) if a.json else format_bench(out))
    return 0


def cmd_warm(a) -> int:
    """Compile the lesson scale's local steps into torch.compile's cache (once, at install)."""
    from ..presets import preset
    from ..warmup import warm

    objectives = [o.strip() for o in a.objectives.split(",")]
    for o in objectives:
        OBJECTIVES.get(o)
    cfgs = [preset(a.preset, objective=o) for o in objectives]
    if not any(c.compile for c in cfgs):
        print(f"preset {a.preset} is not compiled: nothing to warm")
        return 0
    secs = warm(cfgs)
    print(f"compiled the {a.preset} preset's local step for {', '.join(objectives)} into the cache ({secs:.0f} s); "
          "later runs load it in seconds")
    return 0


def cmd_data(a) -> int:
    """Fetch a dataset into the data folder (needs the internet)."""
    from .. import data

    ds = data.load(a.name, 32 if a.name.startswith("cifar") else 16, a.root, download=True)
    print(f"{a.name}: {len(ds.train_y)} train / {len(ds.test_y)} test images under {a.root or data.data_root()}")
    return 0


def cmd_notebooks(a) -> int:
    """Copy the teaching notebooks and example grids out of the installed package."""
    from ..teaching import copy_material

    out = copy_material(a.dir, overwrite=a.force)
    print(f"copied {len(out['notebooks'])} notebooks to {Path(a.dir) / 'notebooks'} and "
          f"{len(out['examples'])} example grids to {Path(a.dir) / 'examples'}")
    print(f"next: cd {a.dir} && jupyter lab notebooks/00_explorer.ipynb   (needs the lab extra)")
    return 0


def cmd_sweep(a) -> int:
    from ..sweep import sweep

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
    from ..sweep.summary import sweep_summary

    table = sweep_summary(a.dir)
    cols = [c for c in table.columns if c not in ("conclusion", "error")]
    print(table[cols].to_string(index=False) if not table.empty else "no finished runs")
    if "status" in table and (table["status"] == "damaged").any():
        for _, r in table[table["status"] == "damaged"].iterrows():
            print(f"  damaged, skipped: {r['run']} ({r['error']})", file=sys.stderr)
    return 0


def cmd_findings(a) -> int:
    """The four findings as the shipped atlases judge them: the verdicts every surface shows."""
    from .. import findings
    from ..findings.render import plain

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
    from .. import findings as fd

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

    from ..findings.render import plain, write_report
    from ..runs import CsvStore, get_or_run

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
    from .. import atlas

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
    print(f"rows {', '.join(bad)} differ from the atlas by up to {out['max_difference']:.2e} ({engines})")
    rebuild = f"rebuild it with `dssl-lite atlas build <its grid> --out {path}` after deleting the file"
    if out["built_on"] and not out["same_machine"]:
        where = "; ".join(f"{m['cpu']}, torch {m['torch']}" for m in out["built_on"])
        print(f"the atlas was built on another machine ({where}; this one: {out['machine']['cpu']}, torch "
              f"{out['machine']['torch']}): floating-point kernels differ between CPUs and torch versions, so "
              f"small differences are expected; to check the engine, {rebuild} and verify again")
    else:
        print(("the atlas was built on this machine: " if out["built_on"] else "") + rebuild)
    return 1


