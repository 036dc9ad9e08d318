"""What other completers answer at a position, for the benchmark's baseline columns: Jedi (a
real language tool); the editor's word list and xz are in model.measure.evaluate."""


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
