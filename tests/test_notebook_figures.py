"""The teaching notebooks draw their figures as pictures: no bare `<Figure size ...>` text where a
picture belongs (a figure shown without the inline backend). Every notebook that draws turns the
inline backend on before its first figure (read from its source: instant), and one of them is
executed in quick mode and must hold the PNG outputs it should (the same backend renders
`plt.show()` and `display(fig)` alike). nbmake executes every notebook besides (`make test`)."""
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
PICTURES = {"01_non_iid_data": 2, "02_topology_and_mixing": 2, "03_mim_vs_cl": 1, "04_connectivity": 3,
            "05_mar": 1, "06_feature_spaces": 1}
EXECUTED = ("02_topology_and_mixing",)  # the inline backend, turned on as every notebook does, in a real kernel
DRAWS = ("plt.show()", "display(features.plot", "plt.subplots(")


def figures(nb) -> tuple[int, list]:
    """(PNG outputs, outputs that are a figure's text repr without its picture)."""
    png, bare = 0, []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            png += "image/png" in data
            text = data.get("text/plain", "")
            if "image/png" not in data and "<Figure size" in text:
                bare.append(text[:60])
    return png, bare


@pytest.mark.parametrize("name", sorted(PICTURES))
def test_every_notebook_turns_the_inline_backend_on_before_it_draws(name):
    nb = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    inline = next(i for i, src in enumerate(code) if "%matplotlib inline" in src)
    draws = [i for i, src in enumerate(code) if any(d in src for d in DRAWS)]
    assert len(draws) >= 1 and min(draws) >= inline, (name, inline, draws)
    assert sum(src.count("plt.show()") + src.count("display(features.plot") for src in code) >= PICTURES[name]


@pytest.mark.parametrize("name", EXECUTED)
def test_every_figure_is_a_picture(name, tmp_path, monkeypatch):
    from nbclient import NotebookClient

    monkeypatch.setenv("CI", "true")  # quick mode, as nbmake runs it in `make test`
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel chooses its own (inline) backend
    nb = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
    NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    png, bare = figures(nb)
    assert not bare, f"{name}: figures shown as text, not pictures: {bare}"
    assert png >= PICTURES[name], f"{name}: {png} pictures, expected at least {PICTURES[name]}"


def test_the_check_catches_a_bare_figure():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("fig")])
    nb.cells[0]["outputs"] = [nbformat.v4.new_output("execute_result", data={"text/plain": "<Figure size 640x480 with 1 Axes>"})]
    assert figures(nb) == (0, ["<Figure size 640x480 with 1 Axes>"])
    assert figures(nbformat.v4.new_notebook()) == (0, [])
