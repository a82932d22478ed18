"""Go's ``text/tabwriter`` (padding 1, space padding, optional right alignment), which pprof
uses for the ``tags`` report: a faithful copy of its column-block algorithm, so that the
alignment of our text matches pprof's to the space."""

from __future__ import annotations


def tabwrite(text: str, align_right: bool = False, padding: int = 1) -> str:
    """Align the tab-terminated cells of ``text`` as Go's tabwriter would on Flush."""
    lines = text.split("\n")
    cells = [ln.split("\t") for ln in lines]
    out: list[str] = []
    widths: list[int] = []

    def write_lines(a: int, b: int) -> None:
        for i in range(a, b):
            parts = []
            line = cells[i]
            for j, c in enumerate(line):
                if j < len(widths):
                    pad = " " * (widths[j] - len(c))
                    parts.append(pad + c if align_right else c + pad)
                else:
                    parts.append(c)
            out.append("".join(parts))

    def fmt(line0: int, line1: int) -> None:
        column = len(widths)
        this = line0
        while this < line1:
            if column >= len(cells[this]) - 1:
                this += 1
                continue
            write_lines(line0, this)
            line0 = this
            width = 0
            while this < line1 and column < len(cells[this]) - 1:
                width = max(width, len(cells[this][column]) + padding)
                this += 1
            widths.append(width)
            fmt(line0, this)
            widths.pop()
            line0 = this
        write_lines(line0, line1)

    fmt(0, len(cells))
    return "\n".join(out)
