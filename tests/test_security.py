"""Security: the Dask cluster listens on localhost only, without a dashboard; the command
touches no file the user did not name (besides Python's and Numba's caches).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from urllib.parse import urlsplit

import psutil
import pytest

from crisis_sim import scenario

LOOPBACK = {"127.0.0.1", "::1"}

AUDIT = textwrap.dedent("""
    import json, os, sys

    LOG, ARGS = sys.argv[1], sys.argv[2:]
    sys.path = [p for p in sys.path if p not in ("", os.getcwd())]  # no imports from the cwd
    events = []
    WRITE = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC

    def hook(event, args):
        if event == "open":
            path, mode, flags = args
            if isinstance(path, int):
                return
            writes = bool(flags & WRITE) if mode is None else any(c in str(mode) for c in "wax+")
            events.append(["write" if writes else "read", os.path.abspath(os.fsdecode(path))])
        elif event in ("os.rename", "os.remove", "os.mkdir", "os.rmdir", "os.truncate",
                       "os.symlink", "os.link", "os.chmod", "shutil.rmtree", "shutil.move"):
            events.append(["write", os.path.abspath(os.fsdecode(args[0]))])

    sys.addaudithook(hook)

    def dump():
        with open(LOG, "w") as fh:
            json.dump(events, fh)

    import atexit
    atexit.register(dump)
    sys.argv = ["crisis-sim", *ARGS]
    from crisis_sim.cli import main
    main()
""")


def _audited(tmp_path: Path, cwd: Path, env: dict[str, str], *args: str) -> list[tuple[str, str]]:
    """Run ``crisis-sim ARGS`` with an audit hook; the files it opened, renamed or removed."""
    script = tmp_path / "audit.py"
    script.write_text(AUDIT)
    log = tmp_path / f"log{len(list(tmp_path.glob('log*')))}.json"
    proc = subprocess.run([sys.executable, str(script), str(log), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return [(kind, path) for kind, path in json.loads(log.read_text())]


def _is_cache(path: str) -> bool:
    """Python's bytecode cache and Numba's kernel cache, the only files written uninvited."""
    numba_dir = os.environ.get("NUMBA_CACHE_DIR")
    return "__pycache__" in Path(path).parts or bool(numba_dir and path.startswith(numba_dir))


def test_commands_touch_only_the_files_the_user_named(tmp_path):
    cwd, home, tmp = tmp_path / "work", tmp_path / "home", tmp_path / "tmp"
    for d in (cwd, home, tmp):
        d.mkdir()
    decoy = "name = 'decoy'\n"
    for d in (cwd, home):  # files a careless tool might pick up: none may be read
        (d / "default.toml").write_text(decoy)
        (d / "crisis_sim.toml").write_text(decoy)
        (d / ".crisis-sim").write_text(decoy)
    mine = cwd / "mine.toml"
    mine.write_text(scenario.bundled_path("default").read_text())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "MPL"))}
    env.update(HOME=str(home), TMPDIR=str(tmp), COLUMNS="100")
    events: list[tuple[str, str]] = []
    for args in (("run", "mine.toml", "--runs", "60", "--chunk-size", "20", "--out", "named.h5"),
                 ("summarize", "named.h5"),
                 ("trace", "named.h5", "--run", "5"),
                 ("run", "--append", "20", "--chunk-size", "20", "--out", "named.h5", "-q")):
        events += _audited(tmp_path, cwd, env, *args)
    out = str(cwd / "named.h5")
    # beside it, then moved: NAME.HOST.PID.tmp, and NAME.HOST.PID.grow (built as one)
    beside = re.compile(re.escape(out) + r"\.[^/]+\.\d+\.(tmp|grow)(\.[^/]+\.\d+\.tmp)?$")
    named = {str(mine), out} | {p for _, p in events if beside.match(p)}
    logs = {str(p) for p in tmp_path.glob("log*.json")}
    writes = sorted({p for kind, p in events if kind == "write" and not _is_cache(p)}
                    - named - logs - {"/dev/null"})
    assert writes == [], f"wrote files nobody named: {writes}"
    # its folder too: listed for what killed runs left, and synced once the file is in place
    touched_here = {p for _, p in events if p.startswith((str(cwd), str(home)))} - {str(cwd)}
    assert touched_here <= named, f"opened files nobody named: {sorted(touched_here - named)}"
    assert sorted(p.name for p in cwd.iterdir()) == [
        ".crisis-sim", "crisis_sim.toml", "default.toml", "mine.toml", "named.h5"]
    assert sorted(p.name for p in home.iterdir()) == [".crisis-sim", "crisis_sim.toml",
                                                      "default.toml"]
    assert list(tmp.iterdir()) == [], "temporary files must not outlive the command"


def test_local_pool_run_leaves_only_the_named_output(tmp_path):
    """With worker processes too: only the named file afterwards, no .tmp, nothing in TMPDIR."""
    home, tmp = tmp_path / "home", tmp_path / "tmp"
    home.mkdir()
    tmp.mkdir()
    env = {**os.environ, "HOME": str(home), "TMPDIR": str(tmp)}
    for args in (("--runs", "40", "--chunk-size", "20", "--workers", "2"),):
        proc = subprocess.run([sys.executable, "-m", "crisis_sim", "run", *args, "--out", "r.h5",
                               "-q"], cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=300)
        assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home", "r.h5", "tmp"]
    assert list(home.iterdir()) == [] and list(tmp.iterdir()) == []


@pytest.fixture(scope="module")
def local_backend():
    """The Dask backend exactly as ``--scheduler local`` makes it (this module's one cluster)."""
    pytest.importorskip("distributed")
    from crisis_sim.runner import DaskBackend

    backend = DaskBackend("local", 2)
    yield backend
    backend.close()


def test_local_cluster_binds_to_localhost_only(local_backend):
    cluster = local_backend.cluster
    assert urlsplit(cluster.scheduler_address).hostname == "127.0.0.1"
    workers = local_backend.client.scheduler_info()["workers"]
    assert len(workers) == 2
    assert all(urlsplit(w).hostname == "127.0.0.1" for w in workers), list(workers)
    me = psutil.Process()
    procs = [me, *me.children(recursive=True)]
    listening = [c.laddr for p in procs for c in p.net_connections(kind="inet")
                 if c.status == psutil.CONN_LISTEN]
    assert listening, "the cluster should be listening somewhere"
    assert all(addr.ip in LOOPBACK for addr in listening), listening


def _get(url: str) -> int:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def test_dashboard_is_off_and_http_serves_only_a_health_check(local_backend):
    server = local_backend.cluster.scheduler.http_server  # the scheduler runs in this process
    me = psutil.Process()
    http = [c.laddr for c in me.net_connections(kind="inet")
            if c.status == psutil.CONN_LISTEN and c.laddr.port == server.port]
    assert http and all(addr.ip in LOOPBACK for addr in http), http
    for addr in http:  # whatever HTTP the scheduler keeps: no dashboard, no cluster details
        base = f"http://{addr.ip}:{addr.port}"
        for page in ("/status", "/info/main/workers.html", "/json/identity.json", "/metrics",
                     "/proxy/8786/127.0.0.1/status", "/statics/"):
            assert _get(base + page) == 404, page
        assert _get(base + "/health") == 200
