"""Committed notebooks are clean: no outputs, a kernelspec, a first code cell tagged `parameters`
that papermill can parse (with `quick` and `output_dir`), and, for the teaching notebooks, the
same cells as `scripts/make_notebooks.py` writes."""
import ast
import importlib.util
import subprocess
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NB_DIR = ROOT / "notebooks"


def committed_notebooks() -> list[Path]:
    try:
        out = subprocess.run(["git", "ls-files", "notebooks/*.ipynb"], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout.split()
        paths = [ROOT / p for p in out if (ROOT / p).exists()]
    except (OSError, subprocess.CalledProcessError):
        paths = []
    return sorted(paths or NB_DIR.glob("*.ipynb"))


def problems(nb, need=("quick",)) -> list[str]:
    """Everything wrong with one notebook, as readable lines (empty = clean). Every notebook needs
    `quick` (DESIGN.md section 6); the teaching notebooks also `output_dir`, `preset` and `seeds`."""
    out = []
    ks = nb.metadata.get("kernelspec", {})
    if ks.get("name") != "python3" or not ks.get("display_name"):
        out.append(f"kernelspec is {ks!r}; want name python3 and a display_name")
    if nb.metadata.get("language_info", {}).get("name") != "python":
        out.append("language_info.name is not python")
    code = [c for c in nb.cells if c.cell_type == "code"]
    for i, c in enumerate(code):
        if c.get("outputs") or c.get("execution_count") is not None:
            out.append(f"code cell {i} holds outputs or an execution count (strip them)")
    if not code or "parameters" not in code[0].metadata.get("tags", []):
        out.append("the first code cell is not tagged 'parameters'")
        return out
    src = code[0].source
    names = {t.id for n in ast.parse(src).body for t in
             (n.targets if isinstance(n, ast.Assign) else [getattr(n, "target", None)]) if isinstance(t, ast.Name)}
    for name in need:
        if name not in names:
            out.append(f"parameters cell lacks {name!r}")
    for line in src.splitlines():
        if line.count("=") > 1:  # papermill's parameter parser skips such lines
            out.append(f"papermill cannot parse parameter line {line!r}")
    return out


@pytest.mark.parametrize("path", committed_notebooks(), ids=lambda p: p.name)
def test_notebook_is_clean(path):
    teaching = path.name[:2] in ("01", "02", "03", "04", "05", "06")
    need = ("quick", "output_dir", "preset", "seeds") if teaching else ("quick",)
    assert problems(nbformat.read(str(path), as_version=4), need) == []


def test_checker_catches_dirty_notebooks():
    nb = nbformat.read(str(NB_DIR / "01_non_iid_data.ipynb"), as_version=4)
    assert problems(nb) == []
    assert problems(nb, need=("quick", "nonexistent")) == ["parameters cell lacks 'nonexistent'"]
    unparsable = nbformat.from_dict(nbformat.reader.reads(nbformat.writes(nb)))
    unparsable.cells[1].source += "\nx: int = 1  # a = b"
    assert any("papermill" in p for p in problems(unparsable))
    dirty = nbformat.from_dict(nbformat.reader.reads(nbformat.writes(nb)))
    dirty.cells[2].outputs = [nbformat.v4.new_output("stream", text="hi")]
    assert any("outputs" in p for p in problems(dirty))
    untagged = nbformat.from_dict(nbformat.reader.reads(nbformat.writes(nb)))
    next(c for c in untagged.cells if c.cell_type == "code").metadata["tags"] = []
    assert any("parameters" in p for p in problems(untagged))
    bare = nbformat.from_dict(nbformat.reader.reads(nbformat.writes(nb)))
    bare.metadata.pop("kernelspec")
    assert any("kernelspec" in p for p in problems(bare))


def test_teaching_notebooks_match_their_generator():
    spec = importlib.util.spec_from_file_location("make_notebooks", ROOT / "scripts" / "make_notebooks.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    assert len(gen.NOTEBOOKS) == 6
    for name, cells in gen.NOTEBOOKS.items():
        path = NB_DIR / f"{name}.ipynb"
        assert path.exists(), f"{path} missing: run python scripts/make_notebooks.py"
        want = [c.source for c in gen.build(name, cells).cells]
        have = [c.source for c in nbformat.read(str(path), as_version=4).cells]
        assert have == want, f"{name} differs from scripts/make_notebooks.py: regenerate it"
