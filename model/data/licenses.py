"""Which licenses a corpus may take: permissive ones only, read from what a package declares.

    expression("(BSD-3-Clause OR GPL-2.0)")  -> "BSD"   (an OR takes a permissive alternative)
    expression("MIT AND LGPL-2.1")           -> None    (an AND needs every part permissive)
    debian_license(copyright text)           -> ("MIT", "Files: * License: Expat")
    npm_license(package.json dict)           -> ("ISC", "ISC")
    gnu_header(text)                         -> True when the file's header names a GNU license

The same table judges PyPI's License fields (model.data.packages), Debian's copyright files and
npm's package.json, so "permissive" means one thing for every corpus.
"""
import re

# Permissive licenses, as the words metadata writes them (SPDX ids, Debian's short names and the
# older free text): each pattern matches a whole term after lower-casing and dropping
# "license"/"the".
PERMISSIVE = [
    (r"mit|expat|mit-0|mit-cmu|mit no attribution|x11", "MIT"),
    (r"(new |modified |simplified |revised )?bsd( ?[-_ ]?[023][- ]clause)?|[023][- ]clause bsd|0bsd", "BSD"),
    (r"apache( software)?([- ]?(version|v)?[- ]?2(\.0)?)?|asl[- ]?2(\.0)?", "Apache-2.0"),
    (r"psf(-2\.0)?|python software foundation|python-2\.0", "PSF-2.0"),
    (r"isc|iscl|isc \(iscl\)", "ISC"),
    (r"zpl[- ]?2\.[01]|zope public", "ZPL-2.1"),
    (r"unlicense|the unlicense \(unlicense\)|cc0(-1\.0)?|public[- ]domain", "Unlicense/CC0"),
    (r"hpnd|historical permission notice and disclaimer( \(hpnd\))?", "HPND"),
    (r"zlib|zlib/libpng", "Zlib"),
    (r"postgresql", "PostgreSQL"),
    (r"bsl-1\.0|boost(-1\.0)?|boost software( 1\.0)?", "BSL-1.0"),
]
_OPERATORS = {"AND", "and", "OR", "or", "WITH", "with", "(", ")", "/"}


def permissive(term):
    """The license family of one license term if it is permissive, else None."""
    words = re.sub(r"\b(the|license[sd]?|licence)\b|[,;:]", " ", term.lower().strip(" ()"))
    words = re.sub(r"\s+", " ", words).strip()
    for pattern, family in PERMISSIVE:
        if re.fullmatch(pattern, words):
            return family
    return None


def expression(text):
    """The permissive families of an SPDX-like expression ("A OR B", "A AND (B OR C)", "A/B" as
    OR, "A WITH exception" as A), or None: an OR needs one permissive alternative (the first is
    taken), an AND needs every part permissive. Text that is not a well-formed expression is
    read as before grouping was understood: split on OR, then on AND, parentheses ignored."""
    tokens, words = [], []
    for piece in re.findall(r"[()/]|[^\s()/]+", text):
        if piece in _OPERATORS:
            tokens += [" ".join(words)] * bool(words) + [piece]
            words = []
        else:
            words.append(piece)  # a term may be several words ("Apache License, Version 2.0")
    tokens += [" ".join(words)] * bool(words)
    try:
        families, rest = _or(tokens)
        if rest:
            raise ValueError(rest)
    except (ValueError, IndexError):
        families = _flat(text)
    return " AND ".join(dict.fromkeys(families)) if families else None


def _or(tokens):
    families, tokens = _and(tokens)
    while tokens and tokens[0] in ("OR", "or", "/"):
        other, tokens = _and(tokens[1:])
        families = families or other
    return families, tokens


def _and(tokens):
    families, tokens = _term(tokens)
    while tokens and tokens[0] in ("AND", "and"):
        other, tokens = _term(tokens[1:])
        families = families + other if families and other else []
    return families, tokens


def _term(tokens):
    if tokens[0] == "(":
        families, rest = _or(tokens[1:])
        if rest[:1] != [")"]:
            raise ValueError("unbalanced parentheses")
        tokens = rest[1:]
    elif tokens[0] in ("AND", "and", "OR", "or", "WITH", "with", ")", "/"):
        raise ValueError(tokens[0])
    else:
        family = permissive(tokens[0])
        families, tokens = ([family] if family else []), tokens[1:]
    if tokens[:1] in (["WITH"], ["with"]):  # an exception only adds permissions: the license decides
        tokens = tokens[2:]
    return families, tokens


def _flat(text):
    for alternative in re.split(r"\s+(?:OR|or)\s+|\s*/\s*", text):
        parts = [permissive(t) for t in re.split(r"\s+(?:AND|and)\s+", alternative)]
        if all(parts):
            return parts
    return []


# -- Debian: usr/share/doc/NAME/copyright --------------------------------------------------

_DEP5 = re.compile(r"^Format:\s*\S*copyright-format", re.MULTILINE)
_PACKAGING = re.compile(r"^.*\bdebian packaging\b", re.IGNORECASE | re.MULTILINE)
_GNU = re.compile(r"\b[LA]?GPL|general\s+public\s+licen[cs]e", re.IGNORECASE)
# Whole license texts, for copyright files that are not machine-readable (most of them paste one).
_TEXTS = [
    ("MIT", re.compile(r"permission is hereby granted, free of charge|permission to use, copy, modify,? and(/or)? "
                       r"distribute this software", re.IGNORECASE)),
    ("BSD", re.compile(r"redistribution and use in source and binary forms", re.IGNORECASE)),
    ("Apache-2.0", re.compile(r"apache license,? version 2\.0", re.IGNORECASE)),
]


def stanzas(text):
    """The DEP-5 paragraphs of a copyright file: dicts of field -> value (continuation lines joined
    with newlines)."""
    paragraphs = []
    for block in re.split(r"\n[ \t]*\n", text):
        fields, key = {}, None
        for line in block.splitlines():
            if line[:1] in (" ", "\t") and key:
                fields[key] += "\n" + line.strip()
            elif ":" in line and not line.startswith("#"):
                key, value = line.split(":", 1)
                key = key.strip()
                fields[key] = value.strip()
        if fields:
            paragraphs.append(fields)
    return paragraphs


def debian_license(text):
    """(family or None, what it was read from) of a Debian copyright file: the License of its
    `Files: *` stanza when it is machine-readable (DEP-5); otherwise the license text it pastes,
    refused when it names a GNU license anywhere before the Debian packaging's own notice (a
    package under several licenses)."""
    if text is None:
        return None, "no copyright file"
    if _DEP5.search(text.split("\n\n", 1)[0]):
        for fields in stanzas(text):
            if fields.get("Files", "").split()[:1] == ["*"]:
                license_field = fields.get("License") or ""
                declared = license_field.split("\n")[0].strip()
                if declared:
                    return expression(declared), f"Files: * License: {declared}"
                family = _pasted(license_field)  # no short name: the license text itself
                return family, f"Files: * License: the {family or 'unrecognised'} license text"
        return None, "no Files: * stanza"
    # The Debian packaging's own notice (usually GPL) ends most of these files: it covers debian/,
    # which a binary package does not ship.
    upstream = _PACKAGING.split(text)[0]
    if _GNU.search(upstream):
        return None, "copyright (not machine-readable) names a GNU license"
    family = _pasted(upstream)
    if family:
        return family, f"copyright (not machine-readable): the {family} license text"
    return None, "copyright (not machine-readable): no permissive license text recognised"


def _pasted(text):
    """The family of a permissive license text pasted whole, if one is recognised."""
    return next((family for family, pattern in _TEXTS if pattern.search(text)), None)


# -- npm: package.json ---------------------------------------------------------------------

def npm_license(meta):
    """(family or None, the license as package.json declares it): `license` (an SPDX expression,
    or the old {"type": ...}), else the old `licenses` list, any one of which may be taken."""
    declared = meta.get("license") if isinstance(meta, dict) else None
    if isinstance(declared, dict):
        declared = declared.get("type")
    if not declared and isinstance(meta, dict) and isinstance(meta.get("licenses"), list):
        types = [item.get("type") if isinstance(item, dict) else item for item in meta["licenses"]]
        declared = " OR ".join(f"({t})" for t in types if isinstance(t, str) and t.strip())
    if not isinstance(declared, str) or not declared.strip():
        return None, "no license in package.json"
    return expression(declared), declared.strip()


# -- A file's own header ---------------------------------------------------------------------

_COMMENT_LEADERS = re.compile(r"[\s*#/;-]+")
_GNU_ACRONYM = re.compile(r"\b[LA]?GPL")  # GPL, LGPL, AGPL, GPLv2, LGPL2, GPL-3.0+ (upper case only)
_GNU_NAME = re.compile(r"general public licen[cs]e", re.IGNORECASE)


def gnu_header(text, head=6000):
    """True when the file's first `head` characters name a GNU license (GPL, LGPL, AGPL): in a
    package whose own license is permissive, such a file is under another license."""
    # Line breaks and comment leaders (" * ", "-- ", "# ") become one space, so a license name
    # wrapped over two comment lines is still found.
    flat = _COMMENT_LEADERS.sub(" ", text[:head])
    return bool(_GNU_ACRONYM.search(flat) or _GNU_NAME.search(flat))
