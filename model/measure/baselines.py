"""What other completers answer at a position, for the benchmark's baseline columns: the real
language tools (Jedi for Python, Universal Ctags for C, JavaScript, TypeScript and Lua); the editor's word list and xz are in
model.measure.evaluate."""
import bisect
import functools
import subprocess


def jedi_completion(raw, pos, suffix, path, root):
    """Jedi's first completion at the cursor, given the same text as the model (the file before
    the cursor and after the current line), with the package as its project."""
    import jedi

    before = raw[:pos]
    row = before.count("\n") + 1
    col = len(before) - (before.rfind("\n") + 1)
    try:
        found = jedi.Script(code=before + suffix, path=path, project=jedi.Project(root)).complete(row, col)
    except Exception:  # noqa: BLE001 - a Jedi failure is no answer, as in an editor
        return ""
    return found[0].complete if found else ""


@functools.lru_cache(maxsize=64)
def ctags_names(root, language="C"):
    """The tag names Universal Ctags finds in the files of `language` (its name for it: C,
    JavaScript, TypeScript, Lua) under `root`, in its tag file's order (sorted), as an editor's
    tag completion lists them. Raises OSError when ctags is missing."""
    out = subprocess.run(["ctags", "-f", "-", "-R", f"--languages={language}", "--sort=yes", root], capture_output=True,
                         text=True, errors="replace", check=True, timeout=600).stdout
    return tuple(sorted({line.split("\t", 1)[0] for line in out.splitlines() if "\t" in line}))


def ctags_completion(raw, pos, root, language="C"):
    """The rest of the first tag (ctags over the package) that starts with the name before the
    cursor, as Vim's tag completion (CTRL-X CTRL-]) offers it first; "" when none does."""
    start = pos
    while start > 0 and (raw[start - 1].isalnum() or raw[start - 1] == "_"):
        start -= 1
    prefix = raw[start:pos]
    if not prefix:
        return ""
    names = ctags_names(root, language)
    i = bisect.bisect_left(names, prefix)
    return names[i][len(prefix):] if i < len(names) and names[i].startswith(prefix) else ""
