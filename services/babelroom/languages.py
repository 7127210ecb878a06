"""Language codes as the API, the sockets and the bus carry them: ISO 639-1, two lower-case letters.

Source: ISO 639-1 (https://www.loc.gov/standards/iso639-2/php/code_list.php).
"""

from __future__ import annotations

import re

_LANG = re.compile(r"^[a-z]{2}$")


def language_code(value: str | None) -> str:
    """Validate an ISO 639-1 code (two lower-case letters) and return it.

    Raises:
        ValueError: missing or not two lower-case letters.
    """
    if not value or not _LANG.match(value):
        raise ValueError(f"lang must be an ISO 639-1 code like 'es', got {value!r}")
    return value
