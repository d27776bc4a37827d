"""The notebooks' prose quotes no measurement: a number a reader's machine would print differently is written by the
cell that measured it (or the sentence is qualitative and conditional on what the cell printed).

Every markdown cell is read with its LaTeX math, code spans, fenced code and link targets left out; what remains must
hold no decimal, no scientific notation, no percentage, no time and no "Nx" ratio, and no "in our run". Paper facts and
parameter values belong in LaTeX or in code spans, where they read as what they are. The few exceptions are listed in
ALLOWED, each with the reason it is not a measurement; an entry that no longer matches anything fails the test too.
"""

from __future__ import annotations

import json
import re

import pytest

from helpers import runner

NOTEBOOKS = runner.notebook_paths()
IDS = [p.name for p in NOTEBOOKS]

#: What a measurement looks like in prose.
MEASURED = {
    "decimal": re.compile(r"(?<![\w.])\d+\.\d+(?![\w.]*\d)"),
    "scientific notation": re.compile(r"(?<![\w.])\d+(?:\.\d+)?\s?(?:[eE][-+]?\d+|[x×·]\s?10\^?\s?[-−]?\d+)"),
    "percentage": re.compile(r"(?<![\w.])\d+(?:\.\d+)?\s?(?:%|percent\b)"),
    "time": re.compile(r"(?<![\w.])\d+(?:\.\d+)?\s?(?:ms|s|sec|secs|seconds?|min|mins|minutes?|h|hours?)\b"),
    "ratio": re.compile(r"(?<![\w.])\d+(?:\.\d+)?[x×](?!\w)"),
    "a quoted run": re.compile(r"\b(?:in|on) (?:our|my) (?:run|machine)\b", re.I),
}

#: (notebook prefix, exact text, why it is not a measurement). Keep it short; prefer LaTeX or a code span.
ALLOWED: list[tuple[str, str, str]] = [
]

_FENCE = re.compile(r"```.*?```", re.S)
_DISPLAY_MATH = re.compile(r"\$\$.*?\$\$", re.S)
_INLINE_MATH = re.compile(r"(?<!\\)\$[^$\n]+?(?<!\\)\$")
_CODE = re.compile(r"`[^`\n]*`")
_LINK_TARGET = re.compile(r"\]\([^)]*\)")
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.S)


def prose(markdown: str) -> str:
    """The text a reader reads as prose: without fenced code, LaTeX math, code spans, link targets and comments."""
    text = markdown
    for pattern, replacement in ((_FENCE, " "), (_HTML_COMMENT, " "), (_DISPLAY_MATH, " "), (_INLINE_MATH, " "),
                                 (_CODE, " "), (_LINK_TARGET, "]")):
        text = pattern.sub(replacement, text)
    return text


def measured_numbers(markdown: str) -> list[tuple[str, str]]:
    """(kind, text) of every measurement-looking number in the prose of `markdown`."""
    found = []
    text = prose(markdown)
    for kind, pattern in MEASURED.items():
        found += [(kind, m.group(0)) for m in pattern.finditer(text)]
    return found


def _markdown_cells(path):
    """(index, source) of the notebook's markdown cells."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return [(i, "".join(c["source"]) if isinstance(c["source"], list) else c["source"])
            for i, c in enumerate(cells) if c["cell_type"] == "markdown"]


def _allowed_here(path) -> list[tuple[str, str]]:
    """The ALLOWED entries (text, reason) of this notebook."""
    return [(text, reason) for prefix, text, reason in ALLOWED if path.name.startswith(prefix)]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_prose_quotes_no_measurement(path):
    allowed = _allowed_here(path)
    problems = []
    for index, source in _markdown_cells(path):
        text = prose(source)
        for exempt, _ in allowed:
            text = text.replace(exempt, " ")
        for kind, match in measured_numbers(text):
            line = next((ln for ln in text.splitlines() if match in ln), "").strip()
            problems.append(f"cell {index}: {kind} {match!r} in: {line[:160]}")
    assert not problems, (
        f"{path.name} types measurements into its prose; let the cell that measured them write the sentence "
        "(display(Markdown(f'...'))), or make it qualitative and conditional on the printout, or put a parameter value "
        "or a paper fact in LaTeX or a code span:\n  " + "\n  ".join(problems))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_every_allowed_exception_is_used_and_explained(path):
    everything = "\n".join(prose(source) for _, source in _markdown_cells(path))
    for text, reason in _allowed_here(path):
        assert len(reason.split()) >= 4, f"ALLOWED entry {text!r} needs a reason that says why it is not a measurement"
        assert text in everything, f"ALLOWED entry {text!r} no longer appears in {path.name}; remove it"


@pytest.mark.parametrize("sentence, kinds", [
    ("L-BFGS reached 0.333 after 18 s", {"decimal", "time"}),
    ("it fell by about 26 % over the run", {"percentage"}),
    ("the loss ended at 2.97e7, 3.4x the other", {"scientific notation", "ratio"}),
    ("from 5.9 × 10^-5 at block1", {"scientific notation"}),
    ("in our run the ratio was lower", {"a quoted run"}),
])
def test_the_detector_finds_measurements(sentence, kinds):
    assert {kind for kind, _ in measured_numbers(sentence)} >= kinds


@pytest.mark.parametrize("sentence", [
    "Gatys et al. (2015) use $\\alpha/\\beta = 10^{-3}$ with `learning_rate=0.02` on 512 px images, 3×3 filters, 5 layers.",
    "See [the paper](https://arxiv.org/abs/1508.06576) and notebook 03, section 2, with `STEPS = 500` steps.",
    "```python\nloss = 0.5 * x  # 12.5 %\n```\nThe VGG19 network has 16 conv layers; Figure 3 shows it.",
])
def test_the_detector_leaves_facts_and_code_alone(sentence):
    assert measured_numbers(sentence) == []
