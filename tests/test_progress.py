"""helpers.progress: outside a notebook the bar goes to stderr; inside, one display line holds its final state."""

from __future__ import annotations

from helpers import progress


def test_terminal_bar_writes_to_stderr(capsys):
    assert not progress.in_notebook()
    for _ in progress.progress_bar(range(3), desc="counting"):
        pass
    err = capsys.readouterr().err
    assert "counting" in err and "3/3" in err


def test_display_line_keeps_the_last_state(monkeypatch, capsys):
    shown = []

    class Handle:
        def update(self, obj, raw):
            shown[-1] = obj["text/plain"]

    def fake_display(obj, raw, display_id):
        shown.append(obj["text/plain"])
        return Handle()

    import IPython.display

    monkeypatch.setattr(IPython.display, "display", fake_display)
    monkeypatch.setattr(progress, "in_notebook", lambda: True)
    bar = progress.progress_bar(range(5), desc="steps", mininterval=0)
    for _ in bar:
        pass
    bar.close()
    assert len(shown) == 1, "one output line, updated in place"
    assert "5/5" in shown[0] and "100%" in shown[0] and "steps" in shown[0]
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == "", "in a notebook the bar is the display line only, not stderr text"
