"""Open the built book in headless Chromium and check what a reader sees, page by page.

Runs after `dspic book` (``make test`` builds the smoke book first). One browser session (module
fixture) visits every page once at desktop width (1280 px), runs every checker below on it and takes a
full-page screenshot into ``book/_build/screens/<page>.png``. Each check is its own test and lists the
problems of *all* pages in one assertion message, so one run shows everything:

- no console errors, no failed requests, every image loads (``test_book_pages_render_without_errors``)
- every ``<img>`` of the article has real alt text (not empty, no '/', not a file name) and sits in a
  ``<figure>`` with a non-empty ``<figcaption>``
- nothing in the content column (``article.bd-article``) is wider than the column unless a horizontal
  scroll box (``overflow-x: auto|scroll``) inside the column clips it
- no code block or table is clipped: none has content wider than itself (``scrollWidth`` above
  ``clientWidth``) unless it or a box around it scrolls sideways, and code cells wrap their lines so
  no code hides in a scroll box either (``test_no_code_block_or_table_is_clipped``)
- every figure that shows scans (``:figclass: scan``) is at least 400 px wide on the page
- no visible text matches ``NBVAL_|/tmp/|/home/|/work/`` (test markers, paths of the build machine), nor
  the sanity lines of nbval's check cells (they are tagged ``remove-cell``)
- every internal link resolves to a file of the built book, and its ``#fragment`` to an id on that page

The checkers are plain functions of a Playwright page; ``test_checkers_*`` run them on small hand-made
pages, a correct one (no problem found) and a broken one (each problem found), so every check is shown
to be able to pass and to fail. Skipped when Chromium is missing or the book was not built, except under
CI (CI=true), where both are required.
"""
import json
import os
import re
import shutil
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from conftest import serve_directory

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
IN_CI = os.environ.get("CI", "").lower() == "true"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--enable-features=OverlayScrollbar"]   # as many readers' browsers: unstyled scroll bars hide
VIEWPORT = {"width": 1280, "height": 900}
CONTENT = "article.bd-article"   # the content column of pydata-sphinx-theme / sphinx-book-theme
RESIDUE = r"NBVAL_|/tmp/|/home/|/work/|every verdict a known one|paper values, \d+ computed"
SCAN_MIN_PX = 400                # a figure of whole-body scans narrower than this has unreadable boxes


def _html_root(root: Path) -> Path:
    return root / "book" / "_build" / "html"


def _pages(html: Path) -> list[str]:
    """The book's own pages: the root page and every chapter in the toc."""
    skip = {"genindex.html", "search.html", "index.html"}
    return sorted(str(p.relative_to(html)) for p in html.rglob("*.html")
                  if p.name not in skip and "_static" not in p.parts and "_sources" not in p.parts)


# ---------------------------------------------------------------------------------------------------
# Checkers: each takes a loaded Playwright page and returns a list of problems (strings).

IMAGES_JS = """(sel) => {
  const root = document.querySelector(sel) || document.body;
  const out = [];
  for (const img of root.querySelectorAll('img')) {
    const alt = (img.getAttribute('alt') || '').trim();
    const name = (img.getAttribute('src') || '').split('/').pop().slice(0, 24);
    if (!alt) out.push(`img ${name}: no alt text`);
    else if (alt.includes('/') || /\\.(png|jpe?g|svg|gif|webp)\\b/i.test(alt))
      out.push(`img ${name}: alt text is a file path/name: "${alt.slice(0, 60)}"`);
    const fig = img.closest('figure');
    const cap = fig && fig.querySelector('figcaption');
    if (!fig) out.push(`img ${name}: not inside a <figure>`);
    else if (!cap || !cap.innerText.trim()) out.push(`img ${name}: its <figure> has no <figcaption> text`);
    // a figure shown smaller than drawn shrinks its text below the 9 pt it was drawn with
    if (img.complete && img.naturalWidth > 0 && img.clientWidth < 0.97 * img.naturalWidth)
      out.push(`img ${name}: shown at ${Math.round(100 * img.clientWidth / img.naturalWidth)} % of its size`);
  }
  return out;
}"""

OVERFLOW_JS = """(sel) => {
  const col = document.querySelector(sel);
  if (!col) return [`no content column ${sel}`];
  const box = col.getBoundingClientRect();
  const cs = getComputedStyle(col);
  const left = box.left + parseFloat(cs.paddingLeft) - 1, right = box.right - parseFloat(cs.paddingRight) + 1;
  const scrolls = (el) => /^(auto|scroll)$/.test(getComputedStyle(el).overflowX);
  const clipped = (el) => {            // a scroll box strictly between el and the column clips it
    for (let a = el.parentElement; a && a !== col; a = a.parentElement) if (scrolls(a)) return true;
    return false;
  };
  const describe = (el) => {
    let d = el.tagName.toLowerCase();
    if (el.id) d += '#' + el.id;
    if (el.classList.length) d += '.' + [...el.classList].slice(0, 3).join('.');
    const sec = el.closest('section[id]');
    return d + (sec ? ` in #${sec.id}` : '');
  };
  const out = [], reported = [];
  for (const el of col.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    const vis = getComputedStyle(el).visibility;
    if (vis === 'hidden' || vis === 'collapse') continue;
    if (r.right <= right && r.left >= left) continue;
    if (clipped(el)) continue;
    if (reported.some((p) => p.contains(el))) continue;   // report the outermost element only
    reported.push(el);
    out.push(`${describe(el)}: ${Math.round(r.width)} px wide, column ${Math.round(right - left - 2)} px`
             + ` (sticks out ${Math.round(Math.max(r.right - right, left - r.left))} px)`);
  }
  const doc = document.documentElement;
  if (doc.scrollWidth > doc.clientWidth + 1)
    out.push(`the page scrolls sideways: ${doc.scrollWidth} px for a ${doc.clientWidth} px window`);
  return out;
}"""

LINKS_JS = """() => Array.from(document.querySelectorAll('a[href]')).map((a) => ({
  href: a.getAttribute('href'), abs: a.href, text: (a.innerText || '').trim().slice(0, 40)}))"""

HIDDEN_JS = """(sel) => {   // informational: scroll boxes whose content is wider than the box (part hidden)
  const col = document.querySelector(sel);
  if (!col) return [];
  return [...col.querySelectorAll('*')].filter((el) => /^(auto|scroll)$/.test(getComputedStyle(el).overflowX)
      && el.scrollWidth > el.clientWidth + 1)
    .map((el) => {
      const kind = el.querySelector('table') ? 'table' : el.closest('.cell_input') ? 'code'
                 : el.closest('.cell_output') ? 'output' : el.tagName.toLowerCase();
      return `${kind}: ${el.scrollWidth - el.clientWidth} px of ${el.scrollWidth} hidden`;
    });
}"""

CLIP_JS = """(sel) => {   // code blocks and tables whose content is cut off at their own edge
  const col = document.querySelector(sel);
  if (!col) return [`no content column ${sel}`];
  const scrolls = (el) => /^(auto|scroll)$/.test(getComputedStyle(el).overflowX);
  const inScroll = (el) => {
    for (let a = el; a && a !== col; a = a.parentElement) if (scrolls(a)) return true;
    return false;
  };
  const describe = (el) => {
    let d = el.tagName.toLowerCase();
    if (el.classList.length) d += '.' + [...el.classList].slice(0, 2).join('.');
    const sec = el.closest('section[id]');
    return d + (sec ? ` in #${sec.id}` : '');
  };
  const out = [];
  for (const el of col.querySelectorAll('pre, table, div.highlight, div.output, div.cell_output')) {
    if (el.clientWidth === 0 || el.scrollWidth <= el.clientWidth + 1) continue;
    const code = el.tagName === 'PRE' && el.closest('.cell_input');
    if (code)        // code cells wrap: a scroll box would hide the end of the line as well
      out.push(`code ${describe(el)}: ${el.scrollWidth - el.clientWidth} px of ${el.scrollWidth} cut off`);
    else if (!inScroll(el))
      out.push(`${describe(el)}: content ${el.scrollWidth} px in ${el.clientWidth} px, clipped without a scroll box`);
  }
  // a scroll box that hides part of its content must show its scroll bar (an overlay scroll bar is
  // invisible until touched: the table looks cut at the column edge)
  for (const el of col.querySelectorAll('*')) {
    if (!scrolls(el) || el.scrollWidth <= el.clientWidth + 1 || el.closest('.cell_input')) continue;
    if (el.offsetHeight - el.clientHeight - el.clientTop * 2 < 4)
      out.push(`${describe(el)}: hides ${el.scrollWidth - el.clientWidth} px with no visible scroll bar`);
  }
  return out;
}"""

SCANS_JS = """([sel, min]) => {   // figures that show scans: at least min px wide
  const col = document.querySelector(sel) || document.body;
  const out = [];
  for (const fig of col.querySelectorAll('figure.scan')) {
    const img = fig.querySelector('img');
    if (!img) out.push(`figure.scan${fig.id ? '#' + fig.id : ''}: no image`);
    else if (img.clientWidth < min)
      out.push(`figure.scan${fig.id ? '#' + fig.id : ''}: scans shown ${img.clientWidth} px wide (< ${min})`);
  }
  return out;
}"""

IDS_JS = """() => Array.from(document.querySelectorAll('[id], a[name]')).map((e) => e.id || e.getAttribute('name'))"""


def check_images(page) -> list[str]:
    return page.evaluate(IMAGES_JS, CONTENT)


def check_overflow(page) -> list[str]:
    return page.evaluate(OVERFLOW_JS, CONTENT)


def check_clipping(page) -> list[str]:
    return page.evaluate(CLIP_JS, CONTENT)


def check_scan_figures(page) -> list[str]:
    return page.evaluate(SCANS_JS, [CONTENT, SCAN_MIN_PX])


def check_residue(page) -> list[str]:
    text = page.evaluate("() => document.body.innerText")
    found = []
    for m in re.finditer(RESIDUE, text):
        line_start = text.rfind("\n", 0, m.start()) + 1
        line_end = text.find("\n", m.end())
        line = text[line_start:line_end if line_end >= 0 else None].strip()
        found.append(f"{m.group(0)!r} in: {line[:100]}")
    return found


def _ids_of_file(path: Path) -> set[str]:
    text = path.read_text(errors="replace")
    return set(re.findall(r'\sid="([^"]+)"', text)) | set(re.findall(r'<a\s[^>]*name="([^"]+)"', text))


def check_links(page, html_root: Path, base: str, ids_cache: dict | None = None) -> list[str]:
    """Every link that is not http(s)/mailto resolves to a file of the built book; #fragments exist."""
    ids_cache = {} if ids_cache is None else ids_cache
    here = urlsplit(page.url).path
    ids_cache[here] = set(page.evaluate(IDS_JS))
    problems = []
    for link in page.evaluate(LINKS_JS):
        href = link["href"].strip()
        if not href or re.match(r"(https?:|mailto:|javascript:|data:|tel:)", href, re.I):
            continue
        target = urlsplit(link["abs"])
        if not link["abs"].startswith(base):
            problems.append(f"link {href!r} ({link['text']!r}) leaves the book: {link['abs']}")
            continue
        path = unquote(target.path)
        file = html_root / path.lstrip("/")
        if path.endswith("/"):
            file = file / "index.html"
        if not file.is_file():
            problems.append(f"link {href!r} ({link['text']!r}): no file {path}")
            continue
        fragment = unquote(target.fragment)
        if not fragment:
            continue
        if path not in ids_cache:
            ids_cache[path] = _ids_of_file(file) if file.suffix == ".html" else set()
        if fragment not in ids_cache[path]:
            problems.append(f"link {href!r} ({link['text']!r}): no id #{fragment} on {path}")
    return problems


def load(page, url: str) -> list[str]:
    """Open url and wait until it is laid out (images, MathJax); return its console errors."""
    errors = []
    origin = "{0.scheme}://{0.netloc}/".format(urlsplit(url))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("requestfailed", lambda r: errors.append(f"request failed: {r.url}")
            if r.url.startswith(origin) else None)
    page.goto(url, wait_until="load")
    page.evaluate("() => window.MathJax && MathJax.startup && MathJax.startup.promise")
    page.evaluate("() => document.fonts && document.fonts.ready.then(() => true)")
    return errors


def screenshot(page, path: Path, max_height: int = 16000) -> None:
    """The whole page at the viewport's width. Playwright's full_page capture leaves the viewport
    900 px high, which shifts the theme's sticky, 100vh-high sidebars off the picture; so the viewport
    is made as tall as the page first (up to max_height, beyond which full_page capture is used)."""
    height = page.evaluate("() => document.documentElement.scrollHeight")
    if height <= max_height:
        page.set_viewport_size({"width": VIEWPORT["width"], "height": height})
        page.wait_for_timeout(200)
        page.screenshot(path=str(path))
        page.set_viewport_size(VIEWPORT)
    else:
        page.screenshot(path=str(path), full_page=True)


# ---------------------------------------------------------------------------------------------------
# Fixtures: one browser, one server, one visit per page.

@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM:
        if IN_CI:
            pytest.fail("CI needs the rendered-book check: chromium not installed")
        pytest.skip("chromium not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        # Playwright hides scroll bars in headless mode; a reader's browser shows them (or, with overlay
        # scroll bars, does not: the check below wants the page to style them visible)
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS,
                               ignore_default_args=["--hide-scrollbars"])
        yield b
        b.close()


@pytest.fixture(scope="module")
def server(root):
    html = _html_root(root)
    if not (html / "index.html").exists():
        if IN_CI:
            pytest.fail("CI needs the rendered-book check: book not built (run make book/test)")
        pytest.skip("book not built (run make book/test)")
    httpd, base = serve_directory(html)
    yield base, _pages(html)
    httpd.shutdown()


@pytest.fixture(scope="module")
def report(browser, server, root):
    """{check: {page: [problems]}} for every page; screenshots as a side effect."""
    base, pages = server
    html = _html_root(root)
    screens = root / "book" / "_build" / "screens"
    shutil.rmtree(screens, ignore_errors=True)
    screens.mkdir(parents=True)
    checks = {name: {} for name in ("errors", "images", "overflow", "clipping", "scans", "residue", "links")}
    ids_cache, info, scan_figures = {}, {}, {}
    for page_path in pages:
        page = browser.new_page(viewport=VIEWPORT)
        errors = load(page, f"{base}/{page_path}")
        broken = page.evaluate("Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0))"
                               ".map(i => i.src)")
        errors += [f"image does not load: {src}" for src in broken]
        if not page.title():
            errors.append("page has no title")
        checks["errors"][page_path] = errors
        checks["images"][page_path] = check_images(page)
        checks["overflow"][page_path] = check_overflow(page)
        checks["clipping"][page_path] = check_clipping(page)
        checks["scans"][page_path] = check_scan_figures(page)
        scan_figures[page_path] = page.evaluate("(sel) => document.querySelectorAll(sel + ' figure.scan').length",
                                                CONTENT)
        checks["residue"][page_path] = check_residue(page)
        checks["links"][page_path] = check_links(page, html, base, ids_cache)
        info.setdefault("scrolled", {})[page_path] = page.evaluate(HIDDEN_JS, CONTENT)
        screenshot(page, screens / f"{Path(page_path).stem}.png")
        page.close()
    # report.json: every check's findings, plus (not a check) the scroll boxes that hide content
    (screens / "report.json").write_text(json.dumps({**checks, "info": info}, indent=1))
    return {**checks, "scan_figures": scan_figures}


def _summary(results: dict[str, list[str]], what: str) -> str:
    lines = [f"{sum(map(len, results.values()))} {what} on {sum(bool(v) for v in results.values())} page(s):"]
    for page_path, problems in results.items():
        if problems:
            lines.append(f"  {page_path} ({len(problems)}):")
            lines += [f"    - {p}" for p in problems]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------
# The book's pages.

def test_book_pages_render_without_errors(report, server):
    _, pages = server
    assert any("intro" in p for p in pages) and any("00_environment" in p for p in pages), pages
    results = report["errors"]
    assert not any(results.values()), _summary(results, "console errors / failed loads")


def test_images_have_alt_text_and_captions(report):
    results = report["images"]
    assert not any(results.values()), _summary(results, "images without real alt text or caption")


def test_nothing_is_wider_than_the_content_column(report):
    results = report["overflow"]
    assert not any(results.values()), _summary(results, "elements wider than the content column")


def test_no_code_block_or_table_is_clipped(report):
    results = report["clipping"]
    assert not any(results.values()), _summary(results, "clipped code blocks / tables")


def test_figures_of_scans_are_at_least_400_px_wide(report, server):
    results = report["scans"]
    assert not any(results.values()), _summary(results, "figures of scans too narrow to read")
    _, pages = server
    counts = report["scan_figures"]
    for page_path in pages:   # chapters 01 and 06 show scans: the check must have had figures to look at
        if re.search(r"0[16]_[a-z]+\.html$", page_path):
            assert counts[page_path] >= 2, f"{page_path}: no figure marked as showing scans (:figclass: scan)"


def test_no_build_residue_in_visible_text(report):
    results = report["residue"]
    assert not any(results.values()), _summary(results, f"visible matches of /{RESIDUE}/")


def test_internal_links_resolve(report):
    results = report["links"]
    assert not any(results.values()), _summary(results, "broken internal links")


def test_screenshots_written(report, server, root):
    _, pages = server
    screens = root / "book" / "_build" / "screens"
    missing = [p for p in pages if not (screens / f"{Path(p).stem}.png").is_file()]
    assert not missing, missing


def test_figures_are_inline_images(server, root):
    """Chapters with figures must show them: at least one image per page that stores a PNG output."""
    executed = root / "book" / "executed"
    for nb_path in executed.glob("*.ipynb"):
        nb = json.loads(nb_path.read_text())
        pngs = sum("image/png" in o.get("data", {}) for c in nb["cells"] for o in c.get("outputs", []))
        html = _html_root(root) / "book" / "executed" / f"{nb_path.stem}.html"
        if pngs and html.exists():
            assert html.read_text().count("<img") >= pngs, f"{nb_path.stem}: figures missing from the page"


# ---------------------------------------------------------------------------------------------------
# The checkers themselves, on hand-made pages: each passes on a correct page and fails on a broken one.

PIXEL = ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGA"
         "hKmMIQAAAABJRU5ErkJggg==")
WIDE = ("data:image/svg+xml;utf8,<svg xmlns='http://www.w3.org/2000/svg' width='1200' height='20'>"
        "<rect width='1200' height='20'/></svg>")
SHELL = """<!doctype html><html><head><title>t</title><style>
body {{ margin: 0; }} .bd-main {{ display: flex; }} article.bd-article {{ width: 600px; padding: 0 20px; }}
.scroll {{ overflow-x: auto; }} .scroll::-webkit-scrollbar {{ height: 8px; }}
.scroll::-webkit-scrollbar-thumb {{ background: #999; }}</style></head>
<body><main class="bd-main"><article class="bd-article">{body}</article></main></body></html>"""

GOOD = SHELL.format(body=f"""
<section id="intro"><h1>Title</h1>
<figure id="fig-1"><img src="{PIXEL}" alt="Anterior and posterior scan of one patient" width="300">
<figcaption><p>Fig. 1: an example scan.</p></figcaption></figure>
<div class="scroll"><table style="width: 2000px"><tr><td>a wide table in its own scroll box</td></tr></table></div>
<pre class="scroll" style="width: 100%">{"x" * 400}</pre>
<div class="cell_input"><pre style="white-space: pre-wrap; overflow-wrap: anywhere">{"y" * 400}</pre></div>
<figure class="scan"><img src="{PIXEL}" alt="Two whole-body scans" width="420"><figcaption>scans</figcaption></figure>
<p>Results are cached under .dspic/ in the checkout.</p>
<p><a href="other.html">other</a> <a href="other.html#part-2">part 2</a> <a href="#intro">top</a>
<a href="#">menu</a> <a href="https://doi.org/10.1186/s12880-021-00653-w">doi</a>
<a href="mailto:a@b.c">mail</a> <a href="sub/">folder</a></p></section>""")

BAD = SHELL.format(body=f"""
<section id="intro"><h1>Title</h1>
<img src="{PIXEL}" alt="../../_images/0ace.png">
<figure><img src="{PIXEL}" alt=""></figure>
<figure><img src="{PIXEL}" alt="a scan"><figcaption> </figcaption></figure>
<figure><img src="{WIDE}" alt="a figure drawn wider than the column" style="max-width: 100%">
<figcaption>shrunk to fit</figcaption></figure>
<table style="width: 2000px"><tr><td>a wide table</td></tr></table>
<div class="scroll" style="width: 900px"><p>a scroll box itself wider than the column</p></div>
<pre style="overflow: hidden; width: 300px">{"z" * 400}</pre>
<div class="cell_input"><pre class="scroll" style="width: 300px">{"w" * 400}</pre></div>
<div style="overflow-x: auto; width: 300px"><table><tr><td>{"v" * 400}</td></tr></table></div>
<figure class="scan"><img src="{PIXEL}" alt="Two whole-body scans, drawn small" width="300">
<figcaption>small scans</figcaption></figure>
<pre># NBVAL_CHECK_OUTPUT
data_dir = "/tmp/pytest-of-root/cohort"</pre><p>see /home/user/scans and /work/main</p>
<p style="display: none">/tmp/hidden is not visible</p>
<p><a href="missing.html">missing</a> <a href="other.html#nowhere">no anchor</a>
<a href="#no-such-id">no id here</a> <a href="../../outside.html">outside</a></p></section>""")


@pytest.fixture(scope="module")
def static_site(tmp_path_factory):
    site = tmp_path_factory.mktemp("site")
    (site / "good.html").write_text(GOOD)
    (site / "bad.html").write_text(BAD)
    (site / "other.html").write_text('<html><body><h2 id="part-2">2</h2></body></html>')
    (site / "sub").mkdir()
    (site / "sub" / "index.html").write_text("<html><body>sub</body></html>")
    httpd, base = serve_directory(site)
    yield site, base
    httpd.shutdown()


@pytest.fixture
def static_page(browser):
    page = browser.new_page(viewport=VIEWPORT)
    yield page
    page.close()


def test_checkers_pass_on_a_correct_page(static_page):
    static_page.set_content(GOOD)
    assert check_images(static_page) == []
    assert check_overflow(static_page) == []
    assert check_clipping(static_page) == []
    assert check_scan_figures(static_page) == []
    assert check_residue(static_page) == []


def test_checkers_fail_on_a_broken_page(static_page):
    static_page.set_content(BAD)
    images = check_images(static_page)
    assert len(images) == 6, images   # 1st: path + no figure; 2nd: no alt + no caption; 3rd: no caption; 4th: shrunk
    assert any("% of its size" in p for p in images)
    assert any("file path/name" in p and "not inside a <figure>" not in p for p in images)
    assert any("no alt text" in p for p in images)
    assert any("not inside a <figure>" in p for p in images)
    assert any("no <figcaption> text" in p for p in images)
    overflow = check_overflow(static_page)
    assert any(p.startswith("table") for p in overflow), overflow
    assert any(p.startswith("div.scroll") for p in overflow), overflow
    assert any("scrolls sideways" in p for p in overflow), overflow
    clipped = check_clipping(static_page)
    assert len(clipped) == 3, clipped
    assert any(p.startswith("div") and "no visible scroll bar" in p for p in clipped), clipped
    assert any(p.startswith("pre") and "clipped without a scroll box" in p for p in clipped), clipped
    assert any(p.startswith("code pre.scroll") and "cut off" in p for p in clipped), clipped
    scans = check_scan_figures(static_page)
    assert scans == ["figure.scan: scans shown 300 px wide (< 400)"], scans
    residue = check_residue(static_page)
    assert [r.split(" in:")[0] for r in residue] == ["'NBVAL_'", "'/tmp/'", "'/home/'", "'/work/'"], residue


def test_link_checker_passes_and_fails(static_page, static_site):
    site, base = static_site
    load(static_page, f"{base}/good.html")
    assert check_links(static_page, site, base) == []
    load(static_page, f"{base}/bad.html")
    problems = check_links(static_page, site, base)
    assert len(problems) == 4, problems
    assert any("no file /missing.html" in p for p in problems)
    assert any("no id #nowhere on /other.html" in p for p in problems)
    assert any("no id #no-such-id on /bad.html" in p for p in problems)
    assert any("outside.html" in p for p in problems)
