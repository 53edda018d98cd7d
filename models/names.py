"""The names people give organisations and API keys: one rule, so SQLite and PostgreSQL keep the same ones.

SQLite would store any string and PostgreSQL refuses some (too long, NUL, text that is not UTF-8); the rule
decides before either is asked.
"""

import unicodedata

# The columns are CharField(max_length=MAX_NAME_LENGTH): PostgreSQL enforces it, SQLite does not.
MAX_NAME_LENGTH = 200
# Unicode categories a name may not contain: control characters (NUL, and tab and newline, which would break
# the tab-separated lines the CLI lists), line and paragraph separators.
CONTROL_CATEGORIES = frozenset({"Cc", "Zl", "Zp"})
# A lone surrogate: what Python makes of bytes that are not UTF-8 in argv (surrogateescape).
SURROGATE = "Cs"


class InvalidName(ValueError):
    """A name the rule refuses; the message says why, without repeating the name."""


def checked_name(name: str, what: str) -> str:
    """`name` without the white space around it; InvalidName if it breaks the rule. `what` names it in errors."""
    trimmed = name.strip()
    if not trimmed:
        raise InvalidName(f"{what} is empty")
    if len(trimmed) > MAX_NAME_LENGTH:
        raise InvalidName(f"{what} is {len(trimmed)} characters long; the most is {MAX_NAME_LENGTH}")
    for position, character in enumerate(trimmed, start=1):
        category = unicodedata.category(character)
        if category == SURROGATE:
            raise InvalidName(f"{what} is not valid UTF-8 text (character {position})")
        if category in CONTROL_CATEGORIES:
            raise InvalidName(f"{what} contains the control character U+{ord(character):04X} (character {position})")
    return trimmed
