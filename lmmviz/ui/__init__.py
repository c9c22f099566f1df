"""The Streamlit app: the only part of lmmviz that imports Streamlit.

``app.py`` at the repository root is ``from lmmviz.ui import main; main()``.
"""


def main() -> None:
    from .app import main as _main

    _main()


__all__ = ["main"]
