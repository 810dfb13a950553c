"""Where runs execute (`sweep/executors.py`): a local Ray listens on 127.0.0.1 only; the scratch
folders of killed runs are cleaned, a live run's kept."""
import os
import socket
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from dssl_lite import sweep as sw
from dssl_lite.sweep import executors


# ----- Ray listens on 127.0.0.1 only -----
def our_processes() -> set:
    """This process and every process it started (Ray's GCS, raylet, workers, agents)."""
    parent = {}
    for p in Path("/proc").iterdir():
        try:
            parent[int(p.name)] = int((p / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (ValueError, OSError, IndexError):
            continue
    ours, grew = {os.getpid()}, True
    while grew:
        new = {pid for pid, pp in parent.items() if pp in ours} - ours
        ours |= new
        grew = bool(new)
    return ours


def listening(pids: set) -> set:
    """(address, port) of every TCP socket in LISTEN state owned by `pids` (from /proc/net)."""
    inodes = set()
    for pid in pids:
        try:
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                link = os.readlink(fd)
                if link.startswith("socket:["):
                    inodes.add(link[8:-1])
        except OSError:
            continue
    found = set()
    for table, family in (("tcp", socket.AF_INET), ("tcp6", socket.AF_INET6)):
        for row in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
            cols = row.split()
            if cols[3] != "0A" or cols[9] not in inodes:  # 0A: LISTEN
                continue
            addr, port = cols[1].split(":")
            raw = b"".join(struct.pack("<I", int(addr[i:i + 8], 16)) for i in range(0, len(addr), 8))
            found.add((socket.inet_ntop(family, raw), int(port, 16)))
    return found


def loopback(address: str) -> bool:
    return address.startswith(("127.", "::ffff:127.")) or address == "::1"


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="needs Linux /proc")
def test_ray_sweep_listens_on_localhost_only(tmp_path, monkeypatch):
    pytest.importorskip("ray", reason="ray is not installed")
    seen, real = set(), sw.commit
    monkeypatch.setattr(sw, "commit", lambda out, run, outcome: seen.update(listening(our_processes()))
                        or real(out, run, outcome))
    monkeypatch.setenv("RAY_ADDRESS", "127.0.0.1:1")  # nothing there: joining it would fail the sweep
    try:
        res = sw.sweep({"preset": "tiny", "grid": {"seed": [0]}}, tmp_path, executor="ray", progress=False)
    except sw.RayStartError as e:  # Ray's own startup, not our code (ray-project/ray#65983)
        pytest.skip(f"local Ray could not start on this machine: {e}")
    assert res["failed"] == [] and seen, "no Ray port seen during the sweep"
    assert all(loopback(a) for a, _ in seen), sorted(seen)




# ----- the scratch folders of killed runs -----
def dead_pid() -> int:
    """The id of a process that has ended."""
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_stale_scratch_of_dead_processes_is_removed_and_a_live_ones_kept(tmp_path):
    dead, alive = tmp_path / f"dssl-run-{dead_pid()}-x1", tmp_path / f"dssl-run-{os.getpid()}-x2"
    unnamed, other = tmp_path / "dssl-run-abc", tmp_path / f"my-run-{dead_pid()}-x"  # not ours to judge
    for d in (dead, alive, unnamed, other):
        (d / "sub").mkdir(parents=True)
        (d / "sub" / "file").write_text("x")
    assert executors.clean_stale_scratch(tmp_path) == [dead]
    assert not dead.exists() and alive.exists() and unnamed.exists() and other.exists()


def test_a_sweep_starts_by_cleaning_stale_scratch(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    stale = tmp_path / "tmp" / f"dssl-run-{dead_pid()}-killed"
    stale.mkdir(parents=True)
    res = sw.sweep({"preset": "tiny", "grid": {"seed": [0]}}, tmp_path / "out", progress=False)
    assert res["failed"] == [] and not stale.exists()
    assert not list((tmp_path / "tmp").glob("dssl-run-*"))  # the run's own scratch went with it
