import functools
import http.server
import os
import shutil
import threading
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


def run_cmd(args, **kw) -> subprocess.CompletedProcess:
    """Run a command of the venv (dspic, pytest, ...) and capture its output."""
    exe = BIN / args[0] if (BIN / args[0]).exists() else shutil.which(args[0])
    env = {**os.environ, **kw.pop("env", {})}
    return subprocess.run([str(exe), *args[1:]], capture_output=True, text=True, env=env, **kw)


def serve_directory(directory):
    """Serve ``directory`` on a free loopback port (quiet); returns ``(httpd, base_url)``."""
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(directory))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}"
