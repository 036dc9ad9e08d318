"""Definition sites: the name being defined is seldom one its scope has defined already.

At `def it|` in a class that has `def items` and `def iterkeys`, the network and the buffer's
words both favour the names the class uses most, which are the ones it has defined; the method
being written is a new one (`iteritems`). So where the cursor is in the name of a definition
(`def`, `class`, `function`, `#define`...), the names the same scope defines before or after the
cursor are weighted down when the names are ranked (model.serving.names.rank_names).

The scope is read from indentation, as a person reads it: the definitions at the cursor line's
indentation, up to the lines indented less on either side (the enclosing class or function).
"""
import re

# What stands before a defined name, per language (in Lua the name may follow a table's path,
# `function M.name`, `function M:name`).
DEFINERS = {
    "python": r"(?:async\s+)?(?:def|class)\s+",
    "javascript": r"(?:export\s+)?(?:default\s+)?(?:async\s+)?(?:function\s*\*?\s*|class\s+)",
    "typescript": r"(?:export\s+)?(?:default\s+)?(?:declare\s+)?(?:abstract\s+)?(?:async\s+)?"
                  r"(?:function\s*\*?\s*|(?:class|interface|enum|type)\s+)",
    "lua": r"(?:local\s+)?function\s+(?:[A-Za-z0-9_.]*[.:])?",
    "c": r"#\s*define\s+",
}


def patterns(language):
    """(a regex matching a line that defines a name, group "name"; one matching the text of
    the cursor's line when the cursor is in the name being defined), or None for a language
    with no definers here."""
    definer = DEFINERS.get(language)
    if definer is None:
        return None
    return (re.compile(rf"[ \t]*{definer}(?P<name>[A-Za-z_][A-Za-z0-9_]*)"),
            re.compile(rf"[ \t]*{definer}[A-Za-z0-9_]*\Z"))


def indent_of(line):
    return len(line) - len(line.lstrip(" \t"))


def scope_definitions(lines, indent, definition):
    """The names the lines define at `indent`, read in order until a line indented less."""
    out = set()
    for line in lines:
        if not line.strip():
            continue
        here = indent_of(line)
        if here < indent:
            break
        m = definition.match(line) if here == indent else None
        if m:
            out.add(m.group("name"))
    return out


def defined_in_scope(before, after, language):
    """The names the cursor's scope already defines, when the cursor is in the name of a
    definition (before: the buffer before the cursor; after: the buffer after it); else an
    empty set."""
    found = patterns(language)
    line = before[before.rfind("\n") + 1:]
    if found is None or not found[1].match(line):
        return set()
    definition, indent = found[0], indent_of(line)
    earlier = before[:len(before) - len(line)].split("\n")[::-1]
    later = after.split("\n")[1:]
    return scope_definitions(earlier, indent, definition) | scope_definitions(later, indent, definition)
