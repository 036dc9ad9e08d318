"""The open documents, kept in sync with the editor's: opened whole, then changed incrementally.

LSP positions count lines broken by \\n, \\r\\n or \\r only (not the form feeds and other breaks that
str.splitlines knows, which Python source may hold), and columns in the code units of the
negotiated position encoding (UTF-16 unless the client offers another). A column past its line's
end means the end of the line, a line past the document's end means the end of the document (the
protocol's rule), so an edit never fails on a position; only a document that was never opened does.

Each document remembers when it was last used (opened, changed, completed in), so the other open
files of its language go to the model most recently used first, as the plug-ins send them.
"""
import itertools
import re
from dataclasses import dataclass
from urllib.parse import unquote, urlparse

from model.serving.limits import FILES_MAX

LINE_BREAK = re.compile(r"\r\n|\r|\n")
UTF8, UTF16, UTF32 = "utf-8", "utf-16", "utf-32"


class UnknownDocument(Exception):
    """A request or change for a document the client never opened (or has closed)."""


@dataclass
class Document:
    uri: str
    language: str
    version: int
    text: str
    path: str = None  # the file's absolute path (file: URIs), or None (untitled:, other schemes)
    used: int = 0     # larger: more recently used


def uri_path(uri):
    """The absolute file path a file: URI names (percent-decoded); None for any other URI."""
    parsed = urlparse(uri)
    if parsed.scheme != "file":
        return None
    path = unquote(parsed.path)
    if re.match(r"^/[A-Za-z]:", path):  # file:///C:/x -> C:/x
        path = path[1:]
    return path or None


def units(char, encoding):
    """How many code units of the encoding one character takes."""
    if encoding == UTF32:
        return 1
    if encoding == UTF8:
        return len(char.encode("utf-8", "surrogatepass"))
    return 2 if ord(char) > 0xFFFF else 1


def line_starts(text):
    """The offset of each line's first character."""
    return [0] + [m.end() for m in LINE_BREAK.finditer(text)]


def offset_at(text, line, character, encoding=UTF16, starts=None):
    """The character offset of an LSP position in text, clamped to the line and the document."""
    starts = line_starts(text) if starts is None else starts
    if line >= len(starts):
        return len(text)
    start = starts[line]
    end = starts[line + 1] if line + 1 < len(starts) else len(text)
    line_text = LINE_BREAK.sub("", text[start:end])
    counted = 0
    for i, char in enumerate(line_text):
        if counted >= character:
            return start + i
        counted += units(char, encoding)
    return start + len(line_text)


class Documents:
    """The open documents by URI."""

    def __init__(self, encoding=UTF16):
        self.encoding = encoding
        self.open_documents = {}
        self.clock = itertools.count(1)

    def open(self, uri, language, version, text):
        self.open_documents[uri] = Document(uri, language, version, text, uri_path(uri), next(self.clock))

    def get(self, uri):
        document = self.open_documents.get(uri)
        if document is None:
            raise UnknownDocument(f"{uri[:200]} is not open (send textDocument/didOpen first)")
        return document

    def change(self, uri, version, changes):
        """Apply content changes in order. changes: (range or None, text), a range being
        ((line, character), (line, character)); None replaces the whole text."""
        document = self.get(uri)
        text = document.text
        for span, new_text in changes:
            if span is None:
                text = new_text
                continue
            (start_line, start_char), (end_line, end_char) = span
            starts = line_starts(text)
            start = offset_at(text, start_line, start_char, self.encoding, starts)
            end = max(start, offset_at(text, end_line, end_char, self.encoding, starts))
            text = text[:start] + new_text + text[end:]
        document.text, document.version = text, version
        self.touch(document)

    def close(self, uri):
        self.open_documents.pop(uri, None)

    def touch(self, document):
        document.used = next(self.clock)

    def offset(self, document, line, character):
        return offset_at(document.text, line, character, self.encoding)

    def other_files(self, current, budget, max_files=FILES_MAX):
        """The other open documents to send as `files`: same language, with a path other than the
        current one's, text without NULs, most recently used first, whole files while the budget
        (characters) lasts, max_files at most (editor-plugin/shared/client.js selectFiles)."""
        usable = sorted((d for d in self.open_documents.values()
                         if d.path and d.text and "\x00" not in d.text and d.language == current.language
                         and d.path != current.path), key=lambda d: -d.used)
        chosen, seen, left = [], set(), budget
        for document in usable:
            if len(chosen) >= max_files:
                break
            if document.path in seen:
                continue
            seen.add(document.path)
            if len(document.text) > left:
                continue
            left -= len(document.text)
            chosen.append({"path": document.path, "text": document.text})
        return chosen


def position_at(text, offset, encoding=UTF16):
    """The LSP position (line, character) of a character offset in text."""
    starts = line_starts(text[:offset])
    start = starts[-1]
    return len(starts) - 1, sum(units(char, encoding) for char in text[start:offset])
