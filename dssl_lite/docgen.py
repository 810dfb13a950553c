"""Blocks of the README and docs that are written from the code and the shipped data, never by hand.

A block is delimited in a markdown file by `<!-- generated: NAME -->` and `<!-- /generated -->`;
`BLOCKS[NAME]()` returns its text. `python scripts/generate_docs.py` rewrites every block, and a
test fails when a block no longer equals what its source gives: so a list of names follows the
registries, and a quoted number follows the measurements it comes from.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
FILES = ("README.md", "docs/design.md", "docs/fidelity.md", "docs/speed.md", "docs/widgets.md",
         "docs/notebooks.md", "docs/feature_spaces.md")
BLOCK = re.compile(r"(<!-- generated: (?P<name>[\w.-]+) -->\n)(?P<body>.*?)(<!-- /generated -->)", re.S)
BLOCKS: dict[str, Callable[[], str]] = {}


def block(name: str):
    def add(fn):
        BLOCKS[name] = fn
        return fn
    return add


def registry_table(registry) -> str:
    """Each entry, what it is, and the config fields only it reads (default and allowed values)."""
    def fields(name):
        return "; ".join(f"`{p.name}` (default {p.default}; {p.allowed()})" for p in registry.params(name)) or "-"
    return "\n".join(["| name | what it is | its own fields |", "|---|---|---|",
                      *(f"| `{n}` | {h} | {fields(n)} |" for n, h in registry.help().items())])


# the common fields by group, in Config's order (the parts' own fields come from the registries)
FIELD_GROUPS = {"data": ("dataset", "image_size", "clients", "alpha", "min_client_size", "partition"),
                "parts": ("topology", "objective", "model"),
                "model": ("width", "depth", "heads", "patch_size"),
                "training": ("rounds", "local_steps", "batch_size", "lr", "lr_schedule", "warmup_steps",
                             "weight_decay", "optimizer_state"),
                "evaluation": ("probe", "knn_k", "reference", "decl_eval"),
                "execution": ("seed", "precision", "device", "strategy", "client_chunk", "compile")}


@block("config-fields")
def config_fields() -> str:
    """Every config field: the common ones by group, then each part's own (from the registries)."""
    from .config import CORE
    from .registry import DATASETS, ENCODERS, OBJECTIVES, TOPOLOGIES

    named = {r.axis: r for r in (DATASETS, TOPOLOGIES, OBJECTIVES, ENCODERS)}  # the registered names, default first
    cell = lambda n: f"`{n}` ({', '.join(named[n].names())})" if n in named else f"`{n}` ({CORE[n]})"
    lines = ["| group | fields (default; for a part, every registered name, the default first) |", "|---|---|"]
    for group, names in FIELD_GROUPS.items():
        lines.append(f"| {group} | " + ", ".join(cell(n) for n in names) + " |")
    seen = {}
    for registry in (TOPOLOGIES, OBJECTIVES):
        for name in registry.names():
            for p in registry.params(name):
                seen.setdefault(p.name, (p, []))[1].append(name)
    for p, owners in seen.values():
        lines.append(f"| read by {', '.join(owners)} | `{p.name}` ({p.default}; {p.allowed()}): {p.help} |")
    return "\n".join(lines)


@block("topologies")
def topologies() -> str:
    from .registry import TOPOLOGIES

    return registry_table(TOPOLOGIES)


@block("objectives")
def objectives() -> str:
    from .registry import OBJECTIVES

    return registry_table(OBJECTIVES)


@block("datasets")
def datasets() -> str:
    from .registry import DATASETS

    return registry_table(DATASETS)


# ----- numbers from the shipped atlases (docs/fidelity.md, the README) -----
@block("demo")
def demo_block() -> str:
    """`make demo`'s table, computed from the shipped live atlas's rows for the demo's runs
    (tests/test_atlas_fresh.py re-trains them and requires equal numbers)."""
    from . import demo
    from .atlas import SHIPPED
    from .presets import preset
    from .runs import CsvStore

    base, objectives = preset("live"), ["mim", "cl"]
    cfgs = demo.configs(base, objectives, 3)
    have = CsvStore(SHIPPED / "live.csv", writable=False).get([c.key() for c in cfgs])
    if len(have) < len(cfgs):
        return "(the shipped live atlas lacks the demo's runs: rebuild it)"
    import pandas as pd

    rows = pd.DataFrame([have[c.key()] for c in cfgs])
    return "```\n$ make demo\n" + demo.table(rows, base, objectives, 3, seconds=False) + "\n```"


@block("atlases")
def atlases_block() -> str:
    """The shipped atlases: rows, seeds, what they hold, the engine and machine they were built on."""
    from .atlas import SHIPPED, describe

    return describe(sorted(SHIPPED.glob("*.csv")))


def _json(rel: str):
    import json

    path = ROOT / rel
    return json.loads(path.read_text()) if path.exists() else None


TIMINGS, ROOFLINE, FLOWER = "data/atlas/timings.json", "docs/speed/bench.json", "benchmarks/flower/results/results.json"


@block("demo-time")
def demo_time() -> str:
    """A Run as the explorer makes one (`dssl-lite bench --timings`): seconds to the first loss point
    and to the end, and the estimate shown before it."""
    t = _json(TIMINGS)
    if t is None or "first_loss_s" not in t:
        return f"(times not measured: dssl-lite bench --timings {TIMINGS})"
    each = "; ".join(f"{o.upper()} {v['3']:.0f} s for three seeds ({v['1']:.0f} s for one), the first loss point after "
                     f"{t['first_loss_s'][o]['3']:.1f} s, estimated {t['estimate_s'][o]['3']:.0f} s beforehand"
                     for o, v in t["seconds"].items())
    return (f"Measured on {t['cores']} cores of an {t['cpu']} (torch {t['torch']}, load average {t['load_average']:.1f}), "
            f"a `live` Run as the explorer makes one (workers and compiled step loaded when the page opens, IID "
            f"references from the atlas this CPU built): {each} (`dssl-lite bench --timings {TIMINGS}`).")


def _speed_rows(r: dict, objective: str = "mim") -> dict:
    """{clients: {strategy: row}} of `dssl-lite bench`'s JSON."""
    out: dict = {}
    for x in r["rows"]:
        if x["objective"] == objective:
            out.setdefault(x["clients"], {})[x["strategy"]] = x
    return out


@block("roofline")
def roofline_block() -> str:
    """`dssl-lite bench --out docs/speed/bench.json` as a table: every strategy beside the plain loop."""
    r = _json(ROOFLINE)
    if r is None or "core_peak" not in r:
        return f"(not measured: dssl-lite bench --out {ROOFLINE})"
    p = r["core_peak"]
    head = (f"{r['cores']} cores (torch {r['torch']}); one core's float32 matmul peak {p['gflops']:.0f} GFLOP/s (best of "
            f"7 trials, {p['low']:.0f}-{p['gflops']:.0f}; bfloat16 {p.get('bfloat16_gflops', float('nan')):.0f}; load "
            f"average {p['load_average']:.1f} at the start), so the "
            f"machine's limit is {r['limit_gflops']:.0f} GFLOP/s; "
            + "; ".join(f"{o}: {f / 1e9:.3f} GFLOP per client-step, at most {r['limit_client_steps_per_s'][o]:,.0f} "
                        "client-steps/s" for o, f in r["flops_per_client_step"].items()))
    lines = [head, "", "| objective | clients | strategy | client-steps/s (median; repetitions) | vs the plain loop | "
             "of the limit | first step (s) |", "|---|---|---|---|---|---|---|"]
    for x in r["rows"]:
        vs = f"{x['vs_plain_loop']:.2f}x" if x.get("vs_plain_loop") else "-"
        name = f"**{x['strategy']}** (a `live` run's)" if x["default"] else x["strategy"]
        first = "-" if x["first_step_seconds"] != x["first_step_seconds"] else f"{x['first_step_seconds']:.1f}"
        lines.append(f"| {x['objective']} | {x['clients']:,} | {name} | {x['client_steps_per_s']:,.0f} "
                     f"({', '.join(f'{v:,.0f}' for v in x['repetitions'])}) | {vs} | {x['fraction']:.2f} | {first} |")
    lines.append(f"\n1,000 clients: peak memory {r['memory_mb_1000_clients']:,.0f} MB.")
    return "\n".join(lines)


@block("flower")
def flower_block() -> str:
    """`make bench-flower`'s own markdown summary (benchmarks/flower/results/results.md)."""
    path = ROOT / "benchmarks/flower/results/results.md"
    return path.read_text().rstrip("\n") if path.exists() else "(not measured: make bench-flower)"


@block("ui-latency")
def ui_latency() -> str:
    """`python scripts/bench_ui.py --out docs/speed/ui.json` as a table against its goals."""
    u = _json("docs/speed/ui.json")
    if u is None:
        return "(not measured: python scripts/bench_ui.py --out docs/speed/ui.json)"
    g = u["goals"]
    rows = [("slider release -> cheap views and atlas curve redrawn (median, max)",
             f"<= {g['slider_to_views_ms']} ms",
             f"{u['slider_to_views_ms']['median']:.0f} ms, {u['slider_to_views_ms']['max']:.0f} ms"),
            ("... of which partition + graph (no drawing)", "", f"{u['of which partition+graph_ms']:.1f} ms"),
            ("atlas curve looked up and redrawn (median)", f"<= {g['atlas_redraw_ms']} ms",
             f"{u['atlas_redraw_ms']['median']:.0f} ms"),
            ("Run -> first loss point on the chart", f"<= {g['run_to_first_loss_s']} s", f"{u['run_to_first_loss_s']:.1f} s"),
            (f"Run of {u['seeds per Run']} seeds -> result, IID baselines trained too", "",
             f"{u['complete_cold_s (with IID baselines)']:.1f} s"),
            ("... the estimate the page showed before Run", "within about 30 %",
             "none (no timings.json)" if u.get("estimate_before_run_s") is None else
             f"{u['estimate_before_run_s']:.1f} s ({u['estimate_before_run_s'] / u['complete_cold_s (with IID baselines)'] - 1:+.0%})"),
            (f"Run of {u['seeds per Run']} seeds -> result, IID baselines cached", "",
             f"{u['complete_warm_s (IID baselines cached)']:.1f} s"),
            ("`build_explorer` (first dataset load included)", "", f"{u['build_explorer_s']:.1f} s")]
    return "\n".join([f"`{u['preset']}` preset, {u['cpu_count']} cores, load average {u['load_average'][0]:.1f} "
                      "at the end (`python scripts/bench_ui.py --out docs/speed/ui.json`):", "",
                      "| measure | goal | measured |", "|---|---|---|", *(f"| {a} | {b} | {c} |" for a, b, c in rows)])


@block("notebook-times")
def notebook_times() -> str:
    """`python scripts/time_notebooks.py` as a table: quick mode measured, full mode estimated."""
    t = _json("docs/speed/notebooks.json")
    if t is None:
        return "(not measured: python scripts/time_notebooks.py --out docs/speed/notebooks.json)"
    fmt = lambda s: f"about {s / 60:.0f} min" if s >= 90 else f"about {s:.0f} s"
    lines = [f"{t['cores']} cores ({t['cpu']}), load average {t['load_average_before']:.1f} before the runs.", "",
             "| notebook | quick mode (measured) | full mode, default parameters (estimated) |", "|---|---|---|"]
    for name, r in t["notebooks"].items():
        full = r.get("full_note") or "-" if r["full_estimate_s"] is None else fmt(r["full_estimate_s"])
        lines.append(f"| `{name}` | {r['quick_s']:.0f} s | {full} |")
    return "\n".join(lines)


@block("speed-summary")
def speed_summary() -> str:
    """A few lines for the README: a `live` run's strategy against the plain loop, Flower, a Run."""
    out = []
    r = _json(ROOFLINE)
    if r is not None and "core_peak" in r:
        for k, rows in sorted(_speed_rows(r).items()):
            d = next((x for x in rows.values() if x["default"]), None)
            if d is None:
                continue
            vs = f", {d['vs_plain_loop']:.1f}x the plain loop a user would write" if d.get("vs_plain_loop") else ""
            out.append(f"- **{k:,} clients** (`dssl-lite bench`, MIM, {r['cores']} cores): {d['client_steps_per_s']:,.0f} "
                       f"client-steps/s ({d['strategy']}){vs}; {d['fraction']:.2f} of the float32 FLOP limit.")
    f = _json(FLOWER)
    if f is not None:
        for k, row in f["summary"].items():
            ratio = row["ratio"]
            out.append(f"- **Against Flower** at {k} clients (`make bench-flower`, the same `live` MIM FedAvg "
                       f"job, {f['reps']} repetition{'s' if f['reps'] > 1 else ''}, engines interleaved): Flower takes "
                       f"{ratio['end_to_end_s']['median']:.1f}x dssl-lite's time end to end and "
                       f"{ratio['steady_round_s']['median']:.1f}x per steady round; the final global weights "
                       f"agree to {row['agreement']['max_abs_diff']:.0e}.")
    out.append("- **A Run in the explorer**: " + demo_time())
    return "\n".join(out)


# ----- the findings (`dssl_lite.findings`): every verdict is the registry's judgement -----
def _judgement(n: int, prefix: str = ""):
    def make():
        from .findings import judgement
        from .findings.render import markdown

        return markdown(judgement(n), doc_prefix=prefix)
    return make


def _summary(prefix: str):
    def make():
        from .findings import judgements
        from .findings.render import summary_table

        return summary_table(judgements(), link_prefix=prefix)
    return make


def _table(module: str, fn: str, preset_name: str, **setting):
    """A block made by `module.fn(preset(preset_name, **setting))` (module: a findings module, or a
    package module given with a leading dot)."""
    def make():
        import importlib

        from .presets import preset

        where = module if module.startswith(".") else f".findings.{module}"
        return getattr(importlib.import_module(where, __package__), fn)(preset(preset_name, **setting))
    return make


for _name, _fn in {
        "findings-summary": _summary(""),
        "findings-summary-docs": _summary("../"),
        **{f"finding-{n}": _judgement(n, "") for n in (1, 2, 3, 4)},
        "finding-1-readme": _judgement(1, "docs/"),
        "finding-1-alphas": _table("mim_vs_cl", "alpha_markdown", "live", topology="fl"),
        "finding-1-short": _table("mim_vs_cl", "alpha_markdown", "live-short", topology="fl"),
        "finding-2-views-0.01": _table("connectivity", "views_markdown", "live", alpha=0.01),
        "finding-2-views-0.1": _table("connectivity", "views_markdown", "live", alpha=0.1),
        "finding-2-twenty-clients": _table("connectivity", "views_markdown", "live", alpha=0.01, clients=20,
                                           partition="dirichlet-balanced"),
        "finding-3-variants": _table("mar", "variants_markdown", "live", alpha=0.01, topology="fl"),
        "finding-3-half-the-clients": _table("mar", "variants_markdown", "live", alpha=0.01, topology="fl",
                                             participation=0.5),
        "finding-3-paper-like": _table("mar", "variants_markdown", "paper-like", topology="fl"),
        "finding-4-drift": _table("drift", "drift_markdown", "live", alpha=0.01, topology="fl"),
        "finding-4-half-the-training": _table("drift", "drift_markdown", "live", alpha=0.01, topology="fl", rounds=30),
        "ablation": _table("mim_vs_cl", "ablation_markdown", "live-short"),
        "traffic": _table("costs", "traffic_markdown", "live", alpha=0.01),
        "precision": _table(".bench", "precision_markdown", "live", alpha=0.01),
        "dropout": _table("costs", "dropout_markdown", "live", alpha=0.01),
        "finding-1-ratio-and-difference": _table("mim_vs_cl", "ratio_and_difference_markdown", "live", topology="fl",
                                                 alpha=0.01)}.items():
    BLOCKS[_name] = _fn


@block("regime-map")
def regime_map() -> str:
    """Each finding's verdict over the scale knobs (`regime.table`), and its figure."""
    from .regime import summary, table

    return ("Where each holds, finding by finding (every measured cell, also where a finding does not show):\n\n"
            + summary() + "\n\n![The regime map: each finding's verdict over the scale knobs](regime-map.png)\n\n"
            "*Drawn by `python scripts/generate_docs.py` (`dssl_lite.regime.figure`). Each cell: the finding's "
            "statistic at that setting, its 95 % interval over five seeds, and the verdict.*\n\n" + table())


def rewrite(text: str) -> str:
    """`text` with every generated block replaced by its current content."""
    def fill(m):
        name = m.group("name")
        if name not in BLOCKS:
            raise KeyError(f"no generator for block {name!r}")
        return m.group(1) + BLOCKS[name]().rstrip("\n") + "\n" + m.group(4)
    return BLOCK.sub(fill, text)


def stale(root: Path = ROOT) -> list[str]:
    """The files (and block names) whose generated blocks differ from their sources."""
    out = []
    for rel in FILES:
        path = root / rel
        if not path.exists():
            continue
        text = path.read_text()
        for m in BLOCK.finditer(text):
            fresh = BLOCKS[m.group("name")]().rstrip("\n") + "\n" if m.group("name") in BLOCKS else None
            if fresh != m.group("body"):
                out.append(f"{rel}: {m.group('name')}")
    return out


def write_all(root: Path = ROOT) -> list[str]:
    """Rewrite every generated block in place; -> the files changed."""
    changed = []
    for rel in FILES:
        path = root / rel
        if path.exists():
            text = path.read_text()
            new = rewrite(text)
            if new != text:
                path.write_text(new)
                changed.append(rel)
    return changed
