"""Text as user-perceived characters: extended grapheme clusters (Unicode UAX #29).

Every count of characters in the harness (CER, the diff view, class accuracy) is in
clusters: "ệ" is one character whether stored as one code point or as ``e`` plus two
combining marks. The ``grapheme`` package segments in pure Python, about 3 µs a
character. In the scripts most OCR output is in (Latin, Greek, Cyrillic, their
punctuation and symbols) no code point joins its neighbour except CR LF, so such text
is split per code point directly; anything else goes through the package. A test
checks every code point of :data:`_ALONE` against the package's own properties.
"""

from __future__ import annotations

import re

#: Code points whose grapheme break property is Other, Control, CR, LF or
#: Extended_Pictographic: each is a cluster of its own (CR LF excepted), since the rules
#: that join them to a neighbour all need a character outside these ranges.
_ALONE = (
    "\x00-\u02ff"  # ASCII, Latin-1, Latin Extended-A/B, IPA, spacing modifiers
    "\u0370-\u0482\u048a-\u0590"  # Greek, Cyrillic, Armenian (not their combining marks)
    "\u1e00-\u200b\u200e-\u20cf"  # Latin Extended Additional, Greek Extended, punctuation, currency
    "\u20f1-\u2cee"  # letterlike symbols, numbers, arrows, mathematical and other symbols
)
_NEEDS_RULES = re.compile(f"[^{_ALONE}]|\r\n")


def graphemes(text: str) -> list[str]:
    """The extended grapheme clusters of ``text``, in order."""
    if _NEEDS_RULES.search(text) is None:
        return list(text)
    import grapheme

    return list(grapheme.graphemes(text))
