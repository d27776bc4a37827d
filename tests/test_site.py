"""Reading the course without running it: the runner's HTML copies and the site of `make site`, offline.

Notebooks 00 and 02 (the quick ones) run once in smoke mode; the site is built from their executed copies (the other
notebooks appear without outputs). Checks: titles, the run record on each page, every link and image, no CDN address,
and, where Chromium and its driver are installed, typeset equations and a quiet console in a real browser.
"""

from __future__ import annotations

import html.parser
import os
import re
import shutil
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat
import pytest

from helpers import runner, site

# Sphinx 9 deprecates attributes that myst-parser and sphinx-book-theme still read; it changes nothing in the pages.
pytestmark = pytest.mark.filterwarnings("ignore:.*is deprecated. Check CHANGES for Sphinx API modifications")

RUN = ("00_start_here", "02_tfhub_arbitrary_stylization")
#: An address on a CDN, or a script that usually comes from one.
CDN = re.compile(r"https?://[^\s\"'<>()]*(cdn|unpkg|jsdelivr|mathjax\.org/mathjax|require(\.min)?\.js)[^\s\"'<>()]*", re.I)
#: The only CDN addresses allowed, inside the copied MathJax: its speech engine's defaults, never fetched (the rule files
#: are local in sre/mathmaps, and the XPath and Internet Explorer ones serve browsers without XPath).
MATHJAX_DEFAULTS = re.compile(r"https://cdn\.jsdelivr\.net/npm/(speech-rule-engine|sre-mathmaps-ie|wicked-good-xpath)@")


# --- without running a notebook ---------------------------------------------------------------------------------


def _notebook(*cells):
    """A notebook of markdown (str) and code (('code', source)) cells."""
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    return new_notebook(cells=[new_code_cell(c[1]) if isinstance(c, tuple) else new_markdown_cell(c) for c in cells])


def test_the_title_is_the_first_heading_as_plain_text():
    nb = _notebook(("code", "x = 1"), "Intro\n\n# 09 · Folders: `tf.data` and [**tf.distribute**](x.ipynb)\n\n## Setup")
    assert site.notebook_title(nb) == "09 · Folders: tf.data and tf.distribute"
    assert site.notebook_title(_notebook("no heading")) == "Notebook"


def test_html_copies_link_to_each_other_not_to_notebook_files():
    html = site._local_links('<a href="03_hand_built_vgg19_optimizer.ipynb">03</a> <a href="08_video.ipynb#flow">x</a> '
                             '<a href="../README.md">Contents</a> <a href="https://example.org/a.ipynb">y</a>')
    assert 'href="03_hand_built_vgg19_optimizer.html"' in html and 'href="08_video.html#flow"' in html
    assert 'href="file://' in html and html.count("README.md") == 1 and 'href="https://example.org/a.ipynb"' in html


def test_the_run_record_cell_is_taken_out_and_its_record_kept():
    nb = _notebook("# T", ("code", "x = 1"))
    site.add_run_record(nb)
    assert len(nb.cells) == 3
    nb.cells[-1].outputs = [nbformat.v4.new_output("stream", name="stdout",
                                                   text='NST_RUN_RECORD {"machine": "M", "software": "S", "mode": "smoke", '
                                                        '"precision": "float32", "precision_why": "set"}\n')]
    assert site.take_run_record(nb)["machine"] == "M"
    assert len(nb.cells) == 2 and nb.metadata[site.RECORD_KEY]["precision"] == "float32"
    assert "**M**" in site.banner(nb) and "**float32** (set)" in site.banner(nb)
    unrun = _notebook("# T")
    site.add_run_record(unrun)
    assert site.take_run_record(unrun) is None and len(unrun.cells) == 1
    assert "no record of its machine" in site.banner(unrun) and "not run for this site" in site.banner(unrun, executed=False)


# --- from two smoke runs -----------------------------------------------------------------------------------------


def _shared(tmp_path_factory, name, make) -> Path:
    """A folder made once per test session, also when pytest-xdist workers each ask for it."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        folder = tmp_path_factory.mktemp(name)
        make(folder)
        return folder
    import fcntl

    folder = tmp_path_factory.getbasetemp().parent / name  # the session's folder, shared by its workers
    with open(folder.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (folder / ".done").is_file():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            make(folder)
            (folder / ".done").touch()
    return folder


def _run(out: Path) -> None:
    """Notebooks RUN in smoke mode through the runner into out (notebooks/, html/)."""
    for name in RUN:
        nb, _ = runner.execute_notebook(runner.NOTEBOOKS_DIR / f"{name}.ipynb", out_dir=out, smoke=True, timeout=600,
                                        kernel_log=out / "logs" / f"{name}.log")
        errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.get("output_type") == "error"]
        assert not errors, f"{name}: {errors}"


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    """The smoke run's folder."""
    return _shared(tmp_path_factory, "site_run", _run)


@pytest.fixture(scope="module")
def built(run, tmp_path_factory) -> tuple[Path, list[str]]:
    """The site built from the smoke run, and Sphinx's warnings."""
    def build(out):
        (out / "warnings.txt").write_text("\n".join(site.build_site(run / "notebooks", out / "site")), encoding="utf-8")

    folder = _shared(tmp_path_factory, "site_built", build)
    return folder / "site", (folder / "warnings.txt").read_text(encoding="utf-8").splitlines()


class _Page(html.parser.HTMLParser):
    """What a page refers to (href, src), the ids it defines, its <title>, its images and scripts."""

    def __init__(self, text: str):
        super().__init__()
        self.refs, self.ids, self.images, self.scripts, self.title, self._in_title = [], set(), [], [], "", False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        for key in ("href", "src"):
            if attrs.get(key):
                self.refs.append(attrs[key])
        if tag == "img":
            self.images.append(attrs.get("src", ""))
        if tag == "script" and attrs.get("src"):
            self.scripts.append(attrs["src"])
        self._in_title = tag == "title"

    def handle_endtag(self, tag):
        self._in_title = False

    def handle_data(self, data):
        if self._in_title:
            self.title += data


def _page(path: Path) -> _Page:
    return _Page(path.read_text(encoding="utf-8"))


def _local_target(page: Path, ref: str) -> tuple[Path, str] | None:
    """The file and fragment a reference on `page` points to, or None for another site, data or mail."""
    parts = urlsplit(ref)
    if parts.scheme or ref.startswith("//"):
        return None
    target = (page.parent / unquote(parts.path)).resolve() if parts.path else page.resolve()
    return (target / "index.html" if target.is_dir() else target), parts.fragment


def _cdn_addresses(folder: Path) -> list[str]:
    """'file: address' for every CDN address in the folder's HTML, JavaScript and CSS, except MathJax's speech defaults."""
    found = []
    for path in sorted(folder.rglob("*")):
        if path.suffix not in (".html", ".js", ".css", ".mjs"):
            continue
        for match in CDN.finditer(path.read_text(encoding="utf-8", errors="replace")):
            in_mathjax = site.MATHJAX_DIR in path.relative_to(folder).as_posix()
            if not (in_mathjax and MATHJAX_DEFAULTS.match(match.group(0))):
                found.append(f"{path.relative_to(folder)}: {match.group(0)}")
    return found


def _expected_figures(nb) -> int:
    """Outputs a page shows as an image: PNG/JPEG/SVG outputs without an HTML form (which is shown instead)."""
    return sum(1 for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
               if o.get("output_type") in ("display_data", "execute_result") and "text/html" not in o.get("data", {})
               and any(m in o.get("data", {}) for m in ("image/png", "image/jpeg", "image/svg+xml")))


@pytest.mark.notebook
def test_runner_pages_are_titled_and_load_nothing_from_a_cdn(run):
    for name in RUN:
        page_path = run / "html" / f"{name}.html"
        page = _page(page_path)
        nb = nbformat.read(run / "notebooks" / f"{name}.ipynb", as_version=4)
        assert page.title == site.notebook_title(nb) != "Notebook"
        assert [s for s in page.scripts if urlsplit(s).scheme] == [], "a script comes from another site"
        for script in page.scripts:
            target, _ = _local_target(page_path, script)
            assert target.is_file(), f"{name}: script {script} missing"
        assert any(s.endswith(f"{site.MATHJAX_DIR}/tex-chtml.js") for s in page.scripts)
        assert nb.metadata[site.RECORD_KEY]["mode"] == "smoke", "the runner keeps the kernel's run record"
        assert not any(site._RECORD_TAG in c.metadata.get("tags", []) for c in nb.cells), "the record cell was left in"
    assert _cdn_addresses(run / "html") == []


@pytest.mark.notebook
def test_site_builds_cleanly_with_every_notebook_in_order(built):
    out, warnings = built
    assert warnings == []
    assert (out / "index.html").is_file() and "README.html" in (out / "index.html").read_text(encoding="utf-8")
    readme = (out / "README.html").read_text(encoding="utf-8")
    order = [readme.find(f'href="notebooks/{p.stem}.html"') for p in runner.notebook_paths()]
    assert -1 not in order and order == sorted(order), "the contents list the notebooks in reading order"


@pytest.mark.notebook
def test_site_pages_are_titled_and_carry_their_run_record(built, run):
    out, _ = built
    for path in runner.notebook_paths():
        page = out / "notebooks" / f"{path.stem}.html"
        text = page.read_text(encoding="utf-8")
        title = site.notebook_title(nbformat.read(path, as_version=4))
        assert _page(page).title.startswith(title), f"{page.name}: {_page(page).title!r}"
        assert "run-record" in text, f"{page.name} has no banner"
        if path.stem in RUN:
            record = nbformat.read(run / "notebooks" / path.name, as_version=4).metadata[site.RECORD_KEY]
            for key in ("machine", "precision", "precision_why"):
                assert html.escape(record[key], quote=False) in text, f"{page.name}: the {key} is not on the page"
        else:
            assert "not run for this site" in text


@pytest.mark.notebook
def test_site_has_no_broken_link_and_every_figure(built, run):
    out, _ = built
    broken, ids = [], {}
    for page_path in sorted(out.rglob("*.html")):
        if "_static" in page_path.relative_to(out).parts:  # the theme's template fragments, not pages
            continue
        page = _page(page_path)
        for ref in page.refs:
            target = _local_target(page_path, ref)
            if target is None:
                continue
            file, fragment = target
            if not file.is_file():
                broken.append(f"{page_path.relative_to(out)} -> {ref}")
            elif fragment and file.suffix == ".html":
                if file not in ids:
                    ids[file] = _page(file).ids
                if fragment not in ids[file]:
                    broken.append(f"{page_path.relative_to(out)} -> {ref} (no such anchor)")
    assert broken == []
    for name in RUN:
        nb = nbformat.read(run / "notebooks" / f"{name}.ipynb", as_version=4)
        shown = [s for s in _page(out / "notebooks" / f"{name}.html").images if "_images/" in s]
        assert len(shown) == _expected_figures(nb) > 0, f"{name}: {len(shown)} images on the page"


@pytest.mark.notebook
def test_site_loads_nothing_from_a_cdn(built):
    out, _ = built
    assert _cdn_addresses(out) == []
    assert (out / site.MATHJAX_DIR / "sre" / "mathmaps").is_dir(), "the speech engine's rule files are local"


def _browser():
    """A headless Chromium through Selenium with the network shut off, or pytest.skip with the reason."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.skip("selenium is not installed (requirements.txt)")
    chromium = next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None)
    driver = shutil.which("chromedriver")
    if not chromium or not driver:
        pytest.skip("no Chromium and chromedriver here: .ci/run installs Debian's chromium and chromium-driver where apt works")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--host-resolver-rules=MAP * ~NOTFOUND"):  # any request for another host fails, and says so
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(driver), options=options)


def _typeset(browser, page: Path) -> dict:
    """Open a page, wait for MathJax, and return its typeset equations, errors, broken images and console errors."""
    browser.get(page.as_uri())
    deadline = time.monotonic() + 60
    while not browser.execute_script("return !!(window.MathJax && MathJax.startup && MathJax.startup.promise)"):
        assert time.monotonic() < deadline, f"{page.name}: MathJax never started"
        time.sleep(0.2)
    browser.set_script_timeout(60)
    browser.execute_async_script("const done = arguments[arguments.length - 1]; MathJax.startup.promise.then(() => done(true));")
    return {
        "equations": browser.execute_script("return document.querySelectorAll('mjx-container').length"),
        "math errors": browser.execute_script("return document.querySelectorAll('mjx-merror').length"),
        "broken images": browser.execute_script(
            "return Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)"),
        "console errors": [e["message"] for e in browser.get_log("browser") if e["level"] in ("SEVERE", "ERROR")],
    }


@pytest.mark.notebook
def test_equations_typeset_offline_in_a_browser(built, run):
    out, _ = built
    browser = _browser()
    try:
        pages = [run / "html" / "02_tfhub_arbitrary_stylization.html", out / "notebooks" / "02_tfhub_arbitrary_stylization.html",
                 out / "notebooks" / "01_theory_content_and_style.html"]
        for page in pages:
            seen = _typeset(browser, page)
            assert seen["equations"] > 0 and seen["math errors"] == 0, (page, seen)
            assert seen["broken images"] == [] and seen["console errors"] == [], (page, seen)
    finally:
        browser.quit()
