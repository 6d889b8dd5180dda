"""Open the built book in headless Chromium: every page loads, no console errors, every image loads.

Runs after `dspic book` (``make test`` builds the smoke book first). Skipped when Chromium is not
installed or the book was not built, except under CI (CI=true), where both are required.
"""
import functools
import http.server
import os
import shutil
import threading
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
IN_CI = os.environ.get("CI", "").lower() == "true"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _html_root(root: Path) -> Path:
    return root / "book" / "_build" / "html"


def _pages(html: Path) -> list[str]:
    """The book's own pages: the root page and every chapter in the toc."""
    skip = {"genindex.html", "search.html", "index.html"}
    return sorted(str(p.relative_to(html)) for p in html.rglob("*.html")
                  if p.name not in skip and "_static" not in p.parts and "_sources" not in p.parts)


@pytest.fixture(scope="module")
def server(root):
    html = _html_root(root)
    if not CHROMIUM or not (html / "index.html").exists():
        reason = "chromium not installed" if not CHROMIUM else "book not built (run make book/test)"
        if IN_CI:
            pytest.fail(f"CI needs the rendered-book check: {reason}")
        pytest.skip(reason)
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(html))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", _pages(html)
    httpd.shutdown()


def test_book_pages_render_without_errors(server):
    from playwright.sync_api import sync_playwright

    base, pages = server
    assert any("intro" in p for p in pages) and any("00_environment" in p for p in pages), pages
    problems = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        for page_path in pages:
            page = browser.new_page()
            errors = []
            page.on("console", lambda m, e=errors: e.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda exc, e=errors: e.append(str(exc)))
            page.on("requestfailed", lambda r, e=errors: e.append(f"request failed: {r.url}")
                    if r.url.startswith(base) else None)
            page.goto(f"{base}/{page_path}", wait_until="load")
            broken = page.evaluate(
                "Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0))"
                ".map(i => i.src)")
            title = page.title()
            if errors or broken or not title:
                problems.append((page_path, errors, broken, title))
            page.close()
        browser.close()
    assert not problems, problems


def test_figures_are_inline_images(server, root):
    """Chapters with figures must show them: at least one image per page that stores a PNG output."""
    import json

    executed = root / "book" / "executed"
    for nb_path in executed.glob("*.ipynb"):
        nb = json.loads(nb_path.read_text())
        pngs = sum("image/png" in o.get("data", {}) for c in nb["cells"] for o in c.get("outputs", []))
        html = _html_root(root) / "book" / "executed" / f"{nb_path.stem}.html"
        if pngs and html.exists():
            assert html.read_text().count("<img") >= pngs, f"{nb_path.stem}: figures missing from the page"
