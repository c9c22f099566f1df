"""One colour per subject, the same on every chart. No Streamlit, no Altair.

:func:`subject_colors` is the single place that maps subjects to colours; the main
chart (:mod:`lmmviz.charts`) and the random-effects charts (:mod:`lmmviz.charts_explore`)
both call it with the subjects in the data's level order, so subject "308" has one
colour on the Fit tab and on the Random effects tab.

Why these palettes:

* up to 8 subjects: **Okabe–Ito** (Okabe & Ito 2008, "Color Universal Design"), the
  reference set whose eight colours stay distinct in protanopia, deuteranopia and
  tritanopia. Black and yellow come last: black reads like text and the axes, and
  yellow (#F0E442) is faint on white.
* 9 to 21 subjects: no palette keeps that many colours apart for colour-blind readers
  by hue alone. **Paul Tol's 21-colour scheme** (SRON/EPS/TN/09-002, issue 2.2) is
  built for this case: seven hues, each in a dark, a medium and a light shade, so that
  two subjects differ in lightness where a colour-blind reader loses the hue. It is
  taken here shade by shade (the seven dark colours first), so that 14 subjects never
  need a light shade. Points add a shape per shade (:func:`subject_shapes`), so the
  shade can be told apart without seeing colour at all.
  Tableau 20 and category20, by contrast, pair each hue with a lighter copy and put
  red next to green: for deuteranopes several of their pairs collapse into one colour.
* more than 21 subjects: the 21 colours repeat. The main chart drops its subject
  legend above 20 subjects; a subject is then found by clicking it (the tooltip names it).
"""

from __future__ import annotations

from typing import Sequence

OKABE_ITO = ("#E69F00", "#56B4E9", "#009E73", "#0072B2", "#D55E00", "#CC79A7", "#000000", "#F0E442")
# Tol's 21 colours (purple, blue, cyan, green, olive, brown, red), dark shades first.
TOL_21 = (
    "#771155", "#114477", "#117777", "#117744", "#777711", "#774411", "#771122",
    "#AA4488", "#4477AA", "#44AAAA", "#44AA77", "#AAAA44", "#AA7744", "#AA4455",
    "#CC99BB", "#77AADD", "#77CCCC", "#88CCAA", "#DDDD77", "#DDAA77", "#DD7788",
)
# The point shape that goes with each shade of TOL_21 (7 of each).
SHADE_SHAPES = ("circle", "square", "triangle-up")


def subject_palette(n: int) -> list[str]:
    """The palette used for ``n`` subjects (before any repetition)."""
    return list(OKABE_ITO) if n <= len(OKABE_ITO) else list(TOL_21)


def subject_colors(subjects: Sequence[str]) -> list[str]:
    """Colour of each subject, in the order given (the data's level order)."""
    subjects = list(subjects)
    palette = subject_palette(len(subjects))
    return [palette[i % len(palette)] for i in range(len(subjects))]


def subject_shapes(subjects: Sequence[str]) -> list[str] | None:
    """Point shape of each subject: one shape per shade of Tol's scheme (9 to 21
    subjects, where the colours alone are not enough), else ``None`` (all circles)."""
    subjects = list(subjects)
    if len(subjects) <= len(OKABE_ITO):
        return None
    return [SHADE_SHAPES[(i % len(TOL_21)) // 7] for i in range(len(subjects))]


__all__ = ["OKABE_ITO", "TOL_21", "subject_palette", "subject_colors", "subject_shapes"]
