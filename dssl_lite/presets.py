"""Named presets: small dicts of overrides on `Config`'s defaults, from the lesson scale (`live`)
to a GPU-scale stand-in for the paper's setting (`paper`). `preset(name, **overrides)` validates.
"""
from __future__ import annotations

from typing import Any

from .config import Config, from_dict
from .errors import ConfigError, short

# Named presets: small dicts of overrides on the defaults. `paper` is a paper-scale setting for a GPU
# on the paper's code's definitions (its minimum-degree-10 graph, data-size mixing, balanced split,
# fresh AdamW, alpha 0.1) but not its model or data: a ViT 192 wide, 12 deep at 32 px on CIFAR-10
# with a linear probe and all 20 clients every round, where the code pre-trains a ViT 320 wide, 9
# deep at 224 px on Mini-ImageNet, samples 5 of 100 clients in FL and fine-tunes.
PRESETS: dict[str, dict] = {
    "default": {},
    # The lesson scale: the explorer's, the demo's and notebooks 03-06's default. The smallest
    # measured scale at which finding 1 shows on five seeds (docs/fidelity.md, the regime map):
    # 600 local steps (60 rounds x 10) of a one-block ViT on digits, 10 clients, alpha 0.01 (about
    # one class per client). Compiled (torch.compile): about twice as fast as eager on CPU, with
    # numbers of its own (the plan is part of every key). Its DecL graphs gossip with the paper's
    # data-size weights.
    "live": dict(dataset="digits", clients=10, alpha=0.01, rounds=60, local_steps=10, batch_size=16,
                 depth=1, lr=2e-3, mixing="size", compile=True),
    # The same model at half the training (300 local steps), eager: quick enough for tests and CI,
    # and the scale of the earlier atlases (`live-short*.csv`). Finding 1 is inside the seed noise here.
    "live-short": dict(dataset="digits", clients=10, alpha=0.01, rounds=30, local_steps=10, batch_size=16,
                       depth=1, lr=2e-3, mixing="size"),
    "tiny": dict(rounds=2, local_steps=2, clients=4, batch_size=8, width=32, depth=1, heads=2),
    # Teaching presets, one per finding: one run (non-IID + IID baseline) stays under 2 minutes on
    # 2 CPU cores. 16 clients (250 images each, ~1-3 classes at alpha 0.1) cost little more than
    # 4: a vmapped step is overhead-bound. The linear probe, because at this training length
    # MIM's kNN accuracy sits at the random floor. 1, 3 and 4 share every value but the objective,
    # so `reproduce` trains their MIM/CL runs once.
    "teach-mim-vs-cl": dict(clients=16, alpha=0.1, rounds=12, local_steps=5, lr=2e-3, probe="linear"),
    "teach-connectivity": dict(clients=16, alpha=0.1, rounds=12, local_steps=5, lr=2e-3, probe="linear",
                               topology="ring"),
    "teach-mar": dict(clients=16, alpha=0.1, rounds=12, local_steps=5, lr=2e-3, probe="linear",
                      objective="mar"),
    "teach-features": dict(clients=16, alpha=0.1, rounds=12, local_steps=5, lr=2e-3, probe="linear",
                           objective="cl"),
    # Long enough for every arm to clear the random-encoder floor (600 local steps): minutes, not
    # seconds (docs/fidelity.md has the measured times).
    "teach-long": dict(clients=10, alpha=0.1, rounds=60, local_steps=10, lr=1e-3, probe="knn"),
    # The paper's definitions at CPU scale (the embedded MNIST, the live model): its balanced
    # Dirichlet split, a new AdamW every round, averaged-model evaluation, one IID FL reference.
    # FL samples 5 of 100 clients per round, each training about 2 local epochs (5 steps of 16 on
    # ~40 images); DecL gossips on the paper's graph (a random tree, then edges until every client
    # has 10 neighbours) with data-size weights, as its readme's DecL run (20 clients, alpha 0.01).
    "paper-like": dict(clients=100, participation=0.05, alpha=0.1, partition="dirichlet-balanced",
                       optimizer_state="fresh", rounds=100, local_steps=5, batch_size=16, depth=1, lr=2e-3),
    "paper-like-decl": dict(clients=20, topology="min_degree", degree=10, mixing="size", alpha=0.01,
                            partition="dirichlet-balanced", optimizer_state="fresh", rounds=30,
                            local_steps=10, batch_size=16, depth=1, lr=2e-3),
    "paper": dict(dataset="cifar10", image_size=32, clients=20, topology="min_degree", degree=10, mixing="size",
                  alpha=0.1, partition="dirichlet-balanced", optimizer_state="fresh", model="vit_tiny",
                  width=192, depth=12, heads=3, patch_size=4, rounds=100, local_steps=50, batch_size=64,
                  lr=1.5e-4, probe="linear"),
}
# One paper-scale preset per finding (GPU, CIFAR-10, 20 clients, degree 10, alpha 0.1, ViT); the
# harness sweeps objective / topology itself, so they differ only in the arm they start from.
_PAPER = PRESETS["paper"]
PRESETS.update({
    "paper-mim-vs-cl": dict(_PAPER, topology="fl"),
    "paper-connectivity": dict(_PAPER),
    "paper-mar": dict(_PAPER, topology="fl", objective="mar"),
    "paper-features": dict(_PAPER, topology="fl", objective="cl"),
})


def preset(name: str, **overrides: Any) -> Config:
    """A named preset with optional overrides, validated."""
    if name not in PRESETS:
        raise ConfigError("preset", f"got {short(name)}; allowed: {', '.join(PRESETS)}")
    return from_dict({**PRESETS[name], **overrides})
