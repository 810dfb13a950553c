"""Committed notebooks are clean and come from their sources: no outputs, a kernelspec and
language_info, a guarded install cell first (for Colab and bare kernels), then a code cell tagged
`parameters` that papermill can parse (with `quick`, and for the teaching notebooks `output_dir`,
`preset` and `seeds`), and the same cells as `scripts/make_notebooks.py` builds from
`notebooks/src/`."""
import ast
import importlib.util
import re
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


def generator():
    pytest.importorskip("jupytext")
    spec = importlib.util.spec_from_file_location("make_notebooks", ROOT / "scripts" / "make_notebooks.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    return gen


def install_problems(cell) -> list[str]:
    """The install cell must only install when the package is missing: an import inside `try`,
    `%pip install` of this project's repository inside `except ImportError`."""
    src = cell.source
    url = re.search(r'^Repository = "(.+)"', (ROOT / "pyproject.toml").read_text(), re.M).group(1)
    out = []
    if not re.search(r"^try:\n    import dssl_(lite|widgets)\b", src, re.M):
        out.append("the install cell does not start with `try: import dssl_lite` (or dssl_widgets)")
    if not re.search(r"^except ImportError:\n(    #.*\n)*    %pip install .*\n", src + "\n", re.M):
        out.append("the install cell has no `%pip install` under `except ImportError:`")
    if f"git+{url}" not in src:
        out.append(f"the install cell does not install from {url}")
    for extra in re.findall(r"dssl-lite\[(\w+)\]", src):
        if not re.search(rf"^{extra} = \[", (ROOT / "pyproject.toml").read_text(), re.M):
            out.append(f"the install cell asks for an extra [{extra}] that pyproject.toml lacks")
    return out


def problems(nb, need=("quick",)) -> list[str]:
    """Everything wrong with one notebook, as readable lines (empty = clean)."""
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
    if len(code) < 2 or "parameters" not in code[1].metadata.get("tags", []):
        out.append("the second code cell (after the install cell) is not tagged 'parameters'")
        return out
    out += install_problems(code[0])
    src = code[1].source
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


def copy(nb):
    return nbformat.from_dict(nbformat.reader.reads(nbformat.writes(nb)))


def test_checker_catches_dirty_notebooks():
    nb = nbformat.read(str(NB_DIR / "01_non_iid_data.ipynb"), as_version=4)
    assert problems(nb) == []
    assert problems(nb, need=("quick", "nonexistent")) == ["parameters cell lacks 'nonexistent'"]
    unparsable = copy(nb)
    params = next(c for c in unparsable.cells if "parameters" in c.metadata.get("tags", []))
    params.source += "\nx: int = 1  # a = b"
    assert any("papermill" in p for p in problems(unparsable))
    dirty = copy(nb)
    [c for c in dirty.cells if c.cell_type == "code"][-1].outputs = [nbformat.v4.new_output("stream", text="hi")]
    assert any("outputs" in p for p in problems(dirty))
    untagged = copy(nb)
    next(c for c in untagged.cells if "parameters" in c.metadata.get("tags", [])).metadata["tags"] = []
    assert any("parameters" in p for p in problems(untagged))
    bare = copy(nb)
    bare.metadata.pop("kernelspec")
    assert any("kernelspec" in p for p in problems(bare))
    unguarded = copy(nb)
    install = next(c for c in unguarded.cells if c.cell_type == "code")
    install.source = install.source.replace("except ImportError:", "finally:")
    assert any("except ImportError" in p for p in problems(unguarded))


def test_notebooks_match_their_sources():
    gen = generator()
    names = [s.stem for s in gen.sources()]
    assert names == sorted(p.stem for p in committed_notebooks()), "one source per committed notebook"
    for src in gen.sources():
        path = NB_DIR / f"{src.stem}.ipynb"
        want, have = gen.build(src), nbformat.read(str(path), as_version=4)
        fix = f"{path.name} differs from {src.relative_to(ROOT)}: run `make notebooks`"
        assert have.metadata == want.metadata, fix
        assert [(c.cell_type, c.source, c.metadata) for c in have.cells] == \
               [(c.cell_type, c.source, c.metadata) for c in want.cells], fix


def test_sources_are_python():
    """The sources are plain Python (magics stay comments there), so linters and the import graph
    see the notebooks' code."""
    for src in generator().sources():
        ast.parse(src.read_text(), filename=str(src))
