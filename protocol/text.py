"""Text rules of protocol v1: trimming, code-point lengths, forbidden categories.

``len()`` counts code points, as the spec does. Trimming uses the Unicode
White_Space set, not bare ``str.strip()``, which also strips U+001C-U+001F
(control characters that must be refused, not hidden).
"""

import unicodedata

WHITESPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
"""The characters with the Unicode White_Space property."""

_NAME_FORBIDDEN = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})
# Chat keeps newlines and tabs; surrogates cannot be sent as UTF-8 either way.
_CHAT_FORBIDDEN = frozenset({"Cc", "Cf", "Cs"})
_CHAT_ALLOWED_CONTROLS = frozenset("\n\t")


def clean_username(raw: str, max_chars: int) -> str:
    """Return the trimmed username or raise ``ValueError`` saying why not."""
    name = raw.strip(WHITESPACE)
    if not 1 <= len(name) <= max_chars:
        raise ValueError(f"username must be 1-{max_chars} characters after trimming")
    if any(unicodedata.category(ch) in _NAME_FORBIDDEN for ch in name):
        raise ValueError("username contains control, format or unassigned characters")
    return name


def clean_chat(raw: str, max_chars: int) -> str:
    """Return the trimmed chat text or raise ``ValueError`` saying why not."""
    text = raw.strip(WHITESPACE)
    if not 1 <= len(text) <= max_chars:
        raise ValueError(f"text must be 1-{max_chars} characters after trimming")
    for ch in text:
        if ch not in _CHAT_ALLOWED_CONTROLS and unicodedata.category(ch) in _CHAT_FORBIDDEN:
            raise ValueError("text contains control or format characters")
    return text


def name_key(name: str) -> str:
    """The form in which usernames are compared (case-insensitive)."""
    return name.casefold()
