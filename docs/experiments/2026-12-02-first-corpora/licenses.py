"""Which licenses a corpus may use: permissive only (MIT/BSD/ISC/Apache/zlib-like, public domain).

spdx_permissive("(BSD-3-Clause OR GPL-2.0)") -> "BSD-3-Clause"; None when no alternative is
all-permissive. gpl_header(text) spots a file whose own header puts it under a GNU license.
"""
import re

PERMISSIVE_IDS = {
    "mit", "expat", "mit-0", "x11", "bsd-2-clause", "bsd-3-clause", "bsd-4-clause-uc", "0bsd", "bsd",
    "isc", "apache-2.0", "apache-2", "zlib", "unlicense", "cc0-1.0", "bsl-1.0", "boost-1.0",
    "postgresql", "public-domain", "python-2.0", "psf-2.0", "blueoak-1.0.0", "wtfpl",
    "apache-2.0 with llvm-exception",
}
GNU_ACRONYM = re.compile(r"\b[LA]?GPL")  # GPL, LGPL, AGPL, GPLv2, LGPL2, GPL-3.0+ ... (upper case only)
GNU_NAME = re.compile(r"general public licen[cs]e", re.I)  # GNU (Lesser|Library|Affero) General Public License
COMMENT_LEADERS = re.compile(r"[\s*#/;-]+")


def spdx_permissive(expression):
    """The permissive alternative of an SPDX expression (OR picks one, AND needs all), or None."""
    if not expression or not isinstance(expression, str):
        return None
    expr = expression.strip().strip("()")
    for alternative in re.split(r"\s+OR\s+|\s*/\s*", expr, flags=re.I):
        parts = [p.strip(" ()").lower() for p in re.split(r"\s+AND\s+", alternative, flags=re.I)]
        if parts and all(p in PERMISSIVE_IDS for p in parts):
            return alternative.strip(" ()")
    return None


def gpl_header(text, head=6000):
    """True when the file's opening comment mentions a GNU license (GPL, LGPL, AGPL)."""
    # Line breaks and comment leaders (" * ", "-- ", "# ") become one space, so a license name
    # wrapped over two comment lines is still found.
    flat = COMMENT_LEADERS.sub(" ", text[:head])
    return bool(GNU_ACRONYM.search(flat) or GNU_NAME.search(flat))
