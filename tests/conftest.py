import functools
import http.server
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

# pydicom's bundled test files (never downloaded): two real GE whole-body bone scans, 1024 x 256, and the
# same scan with a damaged JPEG stream
GE_SCANS = ("JPGExtended.dcm", "JPEG2000.dcm")
CORRUPT = "JPEG-lossy.dcm"


def copy_pydicom(names, folder: Path) -> Path:
    """Copy pydicom's bundled test files ``names`` into ``folder`` (made if missing); skip the test when
    this pydicom does not bundle one."""
    import pydicom

    files = Path(pydicom.__file__).parent / "data" / "test_files"
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        if not (files / name).exists():
            pytest.skip(f"{name} is not bundled with this pydicom")
        shutil.copy(files / name, folder / name)
    return folder


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def home(tmp_path_factory):
    """A DSPIC_HOME of its own for the session (cohort, store, pseudonym key), never the checkout's."""
    from dspic_lib.predict import scans as predict

    home = tmp_path_factory.mktemp("dspic-home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DSPIC_HOME", str(home))
        mp.delenv("DSPIC_DATA", raising=False)
        mp.delenv(predict.KEY_ENV, raising=False)
        yield home


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


@pytest.fixture
def plot_style():
    """The book's figure style for one test (the library leaves the backend to the notebook; tests
    use Agg), and no figure left open after it."""
    import matplotlib
    from matplotlib import pyplot as plt

    from dspic_lib import plots

    with matplotlib.rc_context():
        plots.set_style()
        yield
    plt.close("all")


def assert_fits_the_column(fig, name: str, min_pt: float = 9.0) -> None:
    """A book figure: at most the content column wide, as drawn and as the inline backend saves it
    (tight bounding box), text of ``min_pt`` and up, no figure number in any text."""
    import re

    from matplotlib.text import Text

    from dspic_lib import plots

    width, _ = fig.get_size_inches()
    assert width <= plots.COLUMN_INCHES + 0.01, f"{name}: {width:.2f} in wide"
    fig.canvas.draw()
    tight = fig.get_tightbbox(fig.canvas.get_renderer())
    assert tight.width <= plots.COLUMN_INCHES + 0.01, f"{name}: drawn {tight.width:.2f} in wide"
    texts = [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
    small = [(t.get_text(), t.get_fontsize()) for t in texts if t.get_fontsize() < min_pt]
    assert not small, f"{name}: text under {min_pt} pt: {small[:5]}"
    titles = [t.get_text() for t in texts]
    assert not [s for s in titles if re.search(r"\bFig(ure)?\.?\s*\d", s)], f"{name}: a figure number in {titles}"
