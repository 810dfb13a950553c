"""Write notebooks/NN_name.ipynb from notebooks/src/NN_name.py (jupytext percent format).

The sources are the notebooks: edit them (any editor, linters, diffs), then run `make notebooks`
or `python scripts/make_notebooks.py [NN_name ...]`. The written notebooks hold no outputs, have
stable cell ids and the kernelspec and language_info papermill needs, so regenerating an
unchanged source changes nothing; `tests/test_notebooks_clean.py` fails when they drift apart.
"""
from __future__ import annotations

import sys
from pathlib import Path

import jupytext
import nbformat
from nbformat.v4 import new_notebook

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / "notebooks" / "src"
METADATA = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"}}


def sources() -> list[Path]:
    return sorted(SOURCES.glob("[0-9][0-9]_*.py"))


def build(source: Path) -> nbformat.NotebookNode:
    """The notebook for one source: its cells (tags kept, other cell metadata dropped), uniform
    notebook metadata and ids derived from the file name and position."""
    cells = jupytext.read(source, fmt="py:percent").cells
    for i, cell in enumerate(cells):
        cell.metadata = {"tags": cell.metadata["tags"]} if cell.metadata.get("tags") else {}
        cell.id = f"{source.stem[:2]}-{i:02d}"
    nb = new_notebook(cells=cells, metadata=METADATA)
    nbformat.validate(nb)
    return nb


def main(argv=None) -> int:
    only = set(sys.argv[1:] if argv is None else argv)
    for src in sources():
        if only and src.stem not in only:
            continue
        out = ROOT / "notebooks" / f"{src.stem}.ipynb"
        nbformat.write(build(src), str(out))
        print("wrote", out.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
