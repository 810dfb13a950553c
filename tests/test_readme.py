"""The README cannot drift: every command in its ```bash blocks runs here in a tiny mode, its
python blocks run at the `tiny` preset, and its tables and links name what exists.

How a command runs (`plan`): `dssl-lite` runs in this process (its `main`, as the console script
does); engine commands get `--preset tiny`; `bench` a two-setting, one-step
timing of two strategies; `findings` as it is (it reads the atlases); a sweep a one-run copy of its grid; notebooks quick mode (CI=true); `make` targets a dry
run (`make -n`). Commands that start servers (jupyter lab, voila) are checked to exist with their
files; installs (pip, venv, source) are checked against pyproject.toml. A command that `plan` does
not know fails the test: teach it here when the README grows.
"""
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
PYPROJECT = (ROOT / "pyproject.toml").read_text()
BIN = Path(sys.executable).parent
CLI = ["dssl-lite"]  # marks a command for cli.main in this process


def blocks(lang: str) -> list[tuple[str, str]]:
    """`[(section heading, block text)]` for every ```lang block, in order."""
    out, heading = [], ""
    for m in re.finditer(r"^(#+ [^\n]*)$|^```" + lang + r"\n(.*?)^```", README, re.M | re.S):
        if m.group(1):
            heading = m.group(1).lstrip("# ")
        else:
            out.append((heading, m.group(2)))
    return out


def commands(block: str) -> list[list[str]]:
    """Each line (comments dropped) split into its `&&`-joined commands, as argv lists."""
    out = []
    for line in block.splitlines():
        words = shlex.split(line, comments=True)
        while words:
            cut = words.index("&&") if "&&" in words else len(words)
            out.append(words[:cut])
            words = words[cut + 1:]
    return out


def with_option(argv: list[str], flag: str, value: str) -> list[str]:
    argv = list(argv)
    if flag in argv:
        argv[argv.index(flag) + 1] = value
    else:
        argv += [flag, value]
    return argv


def tiny_grid(path: Path) -> Path:
    """A one-run copy of a sweep grid: the first value on every axis, the tiny preset for engine runs."""
    spec = yaml.safe_load(path.read_text())
    spec["grid"] = {k: v[:1] for k, v in spec["grid"].items()}
    if "notebook" in spec:
        spec["parameters"] = {**spec.get("parameters", {}), "quick": True}
    else:
        spec["preset"] = "tiny"
    out = path.with_name("tiny_" + path.name)
    out.write_text(yaml.safe_dump(spec))
    return out


def tiny_atlas_grid(path: Path) -> Path:
    """An atlas grid's first group cut to its first values, one seed, at the tiny preset (2 rows)."""
    spec = yaml.safe_load(path.read_text())
    group = {k: v[:1] for k, v in spec["groups"][0].items() if k != "alpha"}
    out = path.with_name("tiny_" + path.name)
    out.write_text(yaml.safe_dump({"preset": "tiny", "seeds": [0], "groups": [{**group, "alpha": [0.1, "iid"]}]}))
    return out


def check_install(argv: list[str]) -> None:
    """pip, venv and activation change the environment: check what they name instead."""
    if argv[0] == "pip":
        for spec in argv[2:]:
            extras = re.match(r"dssl-lite\[([\w,]+)\]", spec)
            for extra in extras.group(1).split(",") if extras else []:
                assert re.search(rf"^{extra} = \[", PYPROJECT, re.M), f"README installs unknown extra [{extra}]"
            if "git+" in spec:
                repo = re.search(r'^Repository = "(.+)"', PYPROJECT, re.M).group(1)
                assert spec.endswith(f"git+{repo}"), f"README installs from {spec}, pyproject says {repo}"


def plan(argv: list[str], cwd: Path):
    """-> (argv to run, cwd) or None when the command is checked instead of run."""
    head, args = Path(argv[0]).name, argv[1:]  # `.venv/bin/dssl-lite` is `dssl-lite`
    if head in ("source", "pip") or argv[:3] == ["python3", "-m", "venv"]:
        check_install(argv)
        return None
    if head == "make":
        assert args, "a bare `make`"
        return ["make", "-n", *args], ROOT
    if head in ("jupyter", "voila"):
        if not (BIN / head).exists():
            pytest.skip(f"{head} is not installed (the lab extra): cannot check `{shlex.join(argv)}`")
        for f in (a for a in args if a.endswith(".ipynb")):
            assert (cwd / f).exists(), f"`{shlex.join(argv)}`: no {f}"
        return None
    if head == "papermill":
        return [sys.executable, "-m", "papermill", *args, "-p", "output_dir", "runs/papermill"], cwd
    if head == "dssl-lite":
        cmd = args[0]
        if cmd in ("run", "demo"):
            return CLI + with_option(args, "--preset", "tiny"), cwd
        if cmd == "bench":
            return CLI + args + ["--clients", "2", "--seconds", "0.01", "--reps", "1", "--strategies", "plain loop,chunks"], cwd
        if cmd == "sweep":
            return CLI + [cmd, str(tiny_grid(cwd / args[1])), *args[2:]], cwd
        if cmd == "reproduce":
            return CLI + with_option(with_option(args, "--seeds", "1"), "--preset", "tiny"), cwd
        if cmd in ("report", "notebooks", "--version", "findings"):
            return CLI + args, cwd
        if cmd == "atlas" and args[1] == "build":
            return CLI + ["atlas", "build", str(tiny_atlas_grid(cwd / args[2])), "--out", str(cwd / "tiny_atlas.csv")], cwd
        if cmd == "atlas" and args[1] == "verify":
            if not (cwd / "tiny_atlas.csv").exists():
                from dssl_lite.atlas import build
                build(yaml.safe_load(tiny_atlas_grid(cwd / "examples" / "atlas_live.yaml").read_text()),
                      cwd / "tiny_atlas.csv")
            return CLI + ["atlas", "verify", "--atlas", str(cwd / "tiny_atlas.csv"), "--rows", "1"], cwd
    raise AssertionError(f"the README runs `{shlex.join(argv)}`; teach tests/test_readme.py how to run it tiny")


@pytest.fixture
def course(tmp_path):
    """A working folder with the notebooks and example grids, as `dssl-lite notebooks` lays out."""
    from dssl_lite.teaching import copy_material

    copy_material(tmp_path)
    return tmp_path


@pytest.fixture
def quick_env(monkeypatch):
    """Notebooks in quick mode (CI), one thread, and this checkout's package in every kernel."""
    path = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    for k, v in {"CI": "true", "OMP_NUM_THREADS": "1", "PYTHONPATH": path}.items():
        monkeypatch.setenv(k, v)


@pytest.mark.parametrize("heading, block", blocks("bash"), ids=[h for h, _ in blocks("bash")])
def test_bash_block_runs(heading, block, course, quick_env, monkeypatch, capsys):
    from dssl_lite.cli import main

    cwd = course
    for argv in commands(block):
        if argv[0] == "cd":
            cwd = cwd / argv[1]
            assert cwd.is_dir(), f"`cd {argv[1]}`: no such folder"
            continue
        step = plan(argv, cwd)
        if step is None:
            continue
        run, where = step
        shown = f"`{shlex.join(argv)}` (ran as `{shlex.join(run)}`)"
        if run[0] == "dssl-lite":
            monkeypatch.chdir(where)
            code = main(run[1:])
            assert code == 0, f"{shown} exited {code}: {capsys.readouterr().err[-2000:]}"
            continue
        if run[0] == "make" and shutil.which("make") is None:
            pytest.skip("make is not installed")
        done = subprocess.run(run, cwd=where, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"{shown} failed:\n{done.stderr[-2000:]}"


@pytest.mark.parametrize("heading, block", [b for b in blocks("python") if "warm_up()" not in b[1]],
                         ids=lambda v: v if isinstance(v, str) and "\n" not in v else "")
def test_python_block_runs(heading, block, course, monkeypatch):
    monkeypatch.chdir(course)
    exec(compile(block.replace('preset("live"', 'preset("tiny"'), "README.md", "exec"), {})


def test_feature_space_block_names_the_real_columns():
    from dssl_lite.features import COLUMNS

    (block,) = [b for _, b in blocks("python") if "feature_spaces(" in b]
    printed = re.search(r"to_frame\(\).*#\s*(.+)$", block, re.M).group(1)
    assert [c.strip() for c in printed.split(",")] == COLUMNS


def test_config_table_and_data_readme_list_every_registered_name():
    from dssl_lite.registry import DATASETS, ENCODERS, OBJECTIVES, TOPOLOGIES

    data_readme = (ROOT / "data" / "README.md").read_text()
    for reg in (DATASETS, TOPOLOGIES, OBJECTIVES, ENCODERS):
        row = re.search(rf"`{reg.axis}` \(([^)]*)\)", README).group(1)
        assert [n.strip() for n in row.split(",")] == list(reg.names()), f"README's {reg.axis} list"
    for name in DATASETS.names():
        assert f"`{name}`" in data_readme, f"data/README.md does not list {name}"


def test_colab_and_binder_links_point_at_this_repository():
    repo = re.search(r'^Repository = "https://github.com/(.+)"', PYPROJECT, re.M).group(1)
    links = re.findall(r"\((https://(?:colab\.research\.google\.com|mybinder\.org)/[^)]+)\)", README)
    links = [u for u in links if not u.endswith(".svg")]  # badge images
    assert links
    for url in links:
        assert repo in url, url
        for nb in re.findall(r"notebooks/[\w.]+\.ipynb", url):
            assert (ROOT / nb).exists(), url
