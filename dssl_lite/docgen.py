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
         "docs/notebooks.md", "docs/signal.md")
BLOCK = re.compile(r"(<!-- generated: (?P<name>[\w.-]+) -->\n)(?P<body>.*?)(<!-- /generated -->)", re.S)
BLOCKS: dict[str, Callable[[], str]] = {}


def block(name: str):
    def add(fn):
        BLOCKS[name] = fn
        return fn
    return add


def registry_table(registry) -> str:
    return "\n".join(["| name | what it is |", "|---|---|",
                      *(f"| `{n}` | {h} |" for n, h in registry.help().items())])


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
