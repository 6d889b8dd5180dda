"""book/linkcheck.sh skips (exit 0) when the network is not there, instead of failing offline builds."""
import subprocess
import sys
from pathlib import Path


def test_linkcheck_skips_offline(root, tmp_path):
    # port 9 (discard) on loopback: refused at once, like a machine without network
    env = {"PATH": "/usr/bin:/bin", "LINKCHECK_PROBE_URL": "http://127.0.0.1:9/",
           "PYTHON": sys.executable, "JUPYTER_BOOK": str(tmp_path / "must-not-run")}
    proc = subprocess.run(["bash", str(root / "book" / "linkcheck.sh")], env=env,
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("skipped: offline"), proc.stdout


def test_linkcheck_runs_the_linkcheck_builder_when_online(root, tmp_path):
    """Online, the script calls jupyter-book's linkcheck builder (a stub records the call)."""
    from conftest import serve_directory

    httpd, base = serve_directory(tmp_path)
    stub = tmp_path / "jupyter-book"
    stub.write_text(f"#!/bin/sh\necho \"$@\" > {tmp_path / 'args'}\n")
    stub.chmod(0o755)
    try:
        env = {"PATH": "/usr/bin:/bin", "LINKCHECK_PROBE_URL": f"{base}/",
               "PYTHON": sys.executable, "JUPYTER_BOOK": str(stub)}
        proc = subprocess.run(["bash", str(root / "book" / "linkcheck.sh")], env=env,
                              capture_output=True, text=True, timeout=30)
    finally:
        httpd.shutdown()
    if not list((Path(root) / "book" / "executed").glob("*.ipynb")):
        assert proc.returncode == 2 and "dspic book" in proc.stderr
        return
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (tmp_path / "args").read_text().split() == [
        "build", ".", "--path-output", "book", "--builder", "custom", "--custom-builder", "linkcheck"]
