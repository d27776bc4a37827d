"""Notebook 02's playground: live sliders only where a front end shows them, and the static grid says why."""

from __future__ import annotations

import os
import sys

import pytest

from helpers import environment


@pytest.fixture
def no_front_end(monkeypatch):
    for key in [k for k in os.environ if k.startswith("VSCODE_")] + ["JPY_SESSION_NAME"]:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    monkeypatch.setattr(environment, "has_widgets", lambda: True)


def test_front_end_names(no_front_end, monkeypatch):
    assert environment.front_end_name() is None and not environment.widget_front_end()
    monkeypatch.setenv("VSCODE_PID", "1")
    assert environment.front_end_name() == "VS Code"
    monkeypatch.setenv("JPY_SESSION_NAME", "02.ipynb")
    assert environment.front_end_name() == "JupyterLab or Notebook" and environment.widget_front_end()


def test_auto_draws_sliders_in_a_jupyter_front_end(no_front_end, monkeypatch):
    monkeypatch.setenv("JPY_SESSION_NAME", "02.ipynb")
    assert environment.playground_choice("auto", smoke=False) == (True, "JupyterLab or Notebook detected")


def test_smoke_mode_draws_the_strip_and_says_so_not_that_no_front_end_was_found(no_front_end, monkeypatch):
    monkeypatch.setenv("JPY_SESSION_NAME", "02.ipynb")
    live, why = environment.playground_choice("auto", smoke=True)
    assert not live
    assert "smoke mode" in why and "JupyterLab or Notebook was detected" in why and "no front end" not in why


def test_headless_auto_draws_the_strip(no_front_end):
    assert environment.playground_choice("auto", smoke=False) == (False, "no front end that shows widgets was detected")


def test_explicit_settings_and_missing_ipywidgets(no_front_end, monkeypatch):
    assert environment.playground_choice("live", smoke=True) == (True, "PLAYGROUND = 'live'")
    assert environment.playground_choice("static", smoke=False) == (False, "PLAYGROUND = 'static'")
    monkeypatch.setattr(environment, "has_widgets", lambda: False)
    assert environment.playground_choice("live", smoke=False) == (False, "the ipywidgets package is not installed")


def test_an_unknown_setting_is_named():
    with pytest.raises(ValueError, match="PLAYGROUND = 'sliders'"):
        environment.playground_choice("sliders")
