"""What an installed package offers a lecturer: the notebooks and grids copied out, datasets in
a per-user folder, one line (never a traceback) when a dataset cannot be had."""
from pathlib import Path

import pytest

import dssl_lite
from dssl_lite import data, teaching
from dssl_lite.cli import build_parser, main

ROOT = Path(__file__).resolve().parent.parent


def test_notebooks_command_copies_every_notebook_and_grid(tmp_path, capsys):
    assert main(["notebooks", str(tmp_path / "course")]) == 0
    for folder, pattern in teaching.FOLDERS.items():
        want = sorted(p.name for p in (ROOT / folder).glob(pattern))
        assert want and sorted(p.name for p in (tmp_path / "course" / folder).iterdir()) == want
    count = len(list((ROOT / "notebooks").glob(teaching.FOLDERS["notebooks"])))
    assert f"copied {count} notebooks" in capsys.readouterr().out


def test_notebooks_command_never_overwrites_silently(tmp_path, capsys):
    assert main(["notebooks", str(tmp_path)]) == 0
    mine = tmp_path / "notebooks" / "01_non_iid_data.ipynb"
    mine.write_text("my edits")
    capsys.readouterr()
    assert main(["notebooks", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--force" in err[0] and mine.read_text() == "my edits"
    assert main(["notebooks", str(tmp_path), "--force"]) == 0 and mine.read_text() != "my edits"


@pytest.mark.parametrize("where", ["below a file", "/proc"])
def test_notebooks_into_a_folder_that_cannot_be_written_is_one_line(where, tmp_path, capsys):
    if where == "/proc" and not Path("/proc/self").exists():
        pytest.skip("needs Linux /proc")
    (tmp_path / "a file").write_text("")
    dest = tmp_path / "a file" / "course" if where == "below a file" else Path("/proc/dssl-course")
    assert main(["notebooks", str(dest)]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("dssl-lite: error: dir:") and str(dest) in line, line
    assert not dest.exists()


def test_data_root_order(tmp_path, monkeypatch):
    monkeypatch.setenv("DSSL_DATA", str(tmp_path))
    assert data.data_root() == tmp_path
    monkeypatch.delenv("DSSL_DATA")
    assert data.data_root() == ROOT / "data"  # a source checkout keeps its own data/
    monkeypatch.setattr(data, "CHECKOUT", tmp_path / "site-packages")  # as in a wheel install
    root = data.data_root()
    assert "dssl-lite" in str(root) and "site-packages" not in str(root)


def test_missing_dataset_is_one_line_not_a_traceback(tmp_path, monkeypatch, capsys):
    import torchvision.datasets.cifar as tv_cifar

    def offline(*a, **k):
        import urllib.error

        raise urllib.error.URLError("[Errno -2] Name or service not known")

    monkeypatch.setattr(tv_cifar, "download_and_extract_archive", offline)
    assert main(["data", "cifar10", "--root", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "could not download cifar10" in err[0] and str(tmp_path) in err[0]


@pytest.mark.parametrize("cmd", ["run", "demo", "bench", "data", "notebooks", "sweep", "report", "reproduce"])
def test_every_flag_has_help(cmd):
    sub = next(a for a in build_parser()._actions if a.dest == "cmd").choices[cmd]
    for action in sub._actions:
        assert action.help, f"dssl-lite {cmd} {action.option_strings or action.dest} has no help"


def test_version(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0 and capsys.readouterr().out.strip() == f"dssl-lite {dssl_lite.__version__}"


def test_setup_ships_what_teaching_looks_for():
    import ast

    tree = ast.parse((ROOT / "setup.py").read_text())
    shipped = next(ast.literal_eval(n.value) for n in tree.body
                   if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "RESOURCES")
    assert {k: v for k, v in shipped.items() if k in teaching.FOLDERS} == teaching.FOLDERS
    assert shipped["benchmarks"] == "plain_loop.py"  # the baseline `dssl-lite bench` times the engine against


def test_wheel_holds_every_module_notebook_grid_and_the_license(tmp_path):
    """Built from the tracked files alone, as a fresh clone would build it."""
    import subprocess
    import sys
    import zipfile

    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    if not files:
        pytest.skip("not a git checkout")
    src = tmp_path / "src"
    for f in files:
        (src / f).parent.mkdir(parents=True, exist_ok=True)
        (src / f).write_bytes((ROOT / f).read_bytes())
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "--no-build-isolation",
                           "-q", "-w", str(tmp_path / "dist")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    (wheel,) = (tmp_path / "dist").glob("dssl_lite-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    want = {f for f in files if f.startswith("dssl_lite/") and f.endswith(".py")}
    want |= {f.replace("widgets/", "dssl_widgets/", 1) for f in files if f.startswith("widgets/") and f.endswith(".py")}
    want |= {f"dssl_lite/_resources/{f}" for f in files
             if f.startswith(("notebooks/", "examples/")) and f.endswith((".ipynb", ".yaml"))}
    want |= {"dssl_lite/_resources/benchmarks/plain_loop.py"}
    assert want <= names, sorted(want - names)
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
