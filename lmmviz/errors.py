"""The one error that bad input raises, and how its messages quote the user's values.

A leaf module (no lmmviz imports) so that reading, validation and the simulator can
all raise it without importing one another.
"""

from __future__ import annotations

_SHOWN = 40  # longest name or value quoted in a message


class DataError(ValueError):
    """Input that cannot be used; ``str(err)`` is one line meant for the user.

    Line breaks in the message (for example from a column name that holds one)
    become spaces, so the message is always a single line.
    """

    def __init__(self, message: str = "") -> None:
        super().__init__(" ".join(str(message).splitlines()).strip())


def shown(value, limit: int = _SHOWN) -> str:
    """``repr`` of a name or cell for a message, cut to ``limit`` characters."""
    text = str(value)
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return repr(text)


__all__ = ["DataError", "shown"]
