"""What connectivity and dropout cost beside what they buy (docs/fidelity.md's tables): each
graph's bytes per round next to each objective's robustness, and robustness under lost updates
or failed links with finding 1's paired statistic at each rate."""
from __future__ import annotations

from .. import atlas
from ..config import Config
from ..traffic import communication
from . import FINDINGS, label
from .connectivity import graph_arms
from .render import md_table, mean_ci


def traffic_markdown(base: Config, objectives=("mim", "cl")) -> str:
    """Finding 2's graphs at `base` with what they send: bytes per round, the busiest node's, and
    each objective's robustness (mean over seeds): the trade-off connectivity is."""
    table, body = atlas.everything(), []
    robust = {o: label(table, graph_arms(base.replace(objective=o))) for o in objectives}
    for name, cfg in graph_arms(base):
        c = communication(cfg)
        cells = []
        for o in objectives:
            got = robust[o][robust[o]["arm"] == name]["robustness"]
            cells.append(f"{got.mean():.3f}" if len(got) else "-")
        body.append([name, f"{c['bytes_per_round'] / 1e6:.1f}", f"{c['bytes_busiest_per_round'] / 1e6:.1f}", *cells])
    return md_table(["graph", "MB per round", "busiest node, MB per round", *[f"{o.upper()} robustness" for o in objectives]],
                    body)


def dropout_markdown(base: Config, rates=(0.0, 0.2, 0.5), objectives=("mim", "cl")) -> str:
    """Robustness against `dropout` in FL and on a ring at `base`: each objective's (mean [95 %]
    over seeds), MIM - CL paired (finding 1's statistic) and the bytes really sent per round."""
    table, body = atlas.everything(), []
    for topo in ("fl", "ring"):
        for p in rates:
            b = base.replace(topology=topo, dropout=p, **({"mixing": "size"} if topo == "ring" else {}))
            arms = label(table, [(o, b.replace(objective=o)) for o in objectives])
            if arms["arm"].nunique() < len(objectives):
                continue
            j = FINDINGS[1].statistic(arms, b, dict(finding=1, claim="", setting="", objective="", statistic="",
                                                    sesoi=FINDINGS[1].sesoi))
            body.append([topo, f"{p:g}", *[mean_ci(arms[arms["arm"] == o]["robustness"]) for o in objectives],
                         j.numbers, j.verdict, f"{communication(b)['bytes_per_round'] / 1e6:.1f}"])
    if not body:
        return "(not measured: dssl-lite atlas build examples/atlas_live_dropout.yaml --out data/atlas/live-dropout.csv)"
    return md_table(["graph", "dropout", *[f"{o.upper()} robustness" for o in objectives], "MIM - CL (paired) [95 %]",
                     "verdict", "MB sent per round"], body)
