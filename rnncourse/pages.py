"""Small display helpers shared by the book's pages (executed by Jupyter Book)."""
from __future__ import annotations

from typing import Any, Sequence


def markdown_table(header: Sequence[Any], rows: Sequence[Sequence[Any]], note: str = "", *,
                   align: str = "left") -> str:
    """A Markdown table: a header row, one line per row (``|`` inside a value escaped), and an
    optional line of text under it.  ``align`` is ``"left"`` or ``"right"`` for every column."""
    if align not in ("left", "right"):
        raise ValueError(f"align must be 'left' or 'right', got {align!r}")
    rule = "---:" if align == "right" else "---"
    cell = lambda v: str(v).replace("|", "\\|")
    lines = ["| " + " | ".join(cell(h) for h in header) + " |", "|" + "|".join(rule for _ in header) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + ("\n\n" + note if note else "")


def show_table(header: Sequence[Any], rows: Sequence[Sequence[Any]], note: str = "", *, align: str = "left") -> None:
    """Display :func:`markdown_table` in a notebook or a book page."""
    from IPython.display import Markdown, display

    display(Markdown(markdown_table(header, rows, note, align=align)))
