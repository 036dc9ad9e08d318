"""The import graph of model/, server/ and hypertune/, read from their source (function-level
imports included): it has no cycle, serving reaches nothing of training, and hypertune uses
only public names of the packages it imports."""
import ast
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGES = ("model", "server", "hypertune")
TRAINING = {"model.train", "model.network", "model.evaluate", "tensorflow", "keras"}


def modules():
    """module name -> parsed source, for every .py file of the packages."""
    found = {}
    for package in PACKAGES:
        for name in sorted(os.listdir(os.path.join(ROOT, package))):
            if name.endswith(".py"):
                module = package if name == "__init__.py" else f"{package}.{name[:-3]}"
                with open(os.path.join(ROOT, package, name), encoding="utf-8") as f:
                    found[module] = ast.parse(f.read())
    return found


def imports(tree, known):
    """(module imported, names taken from it) for each import statement anywhere in tree."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(alias.name, ()) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                out.append((sub, ()) if sub in known else (node.module, (alias.name,)))
    return out


def graph():
    found = modules()
    return {m: {target for target, _ in imports(tree, found)} for m, tree in found.items()}, found


def reachable(edges, start):
    seen, todo = set(), [start]
    while todo:
        for target in edges.get(todo.pop(), ()):
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def test_no_import_cycle():
    edges, found = graph()
    for module in found:
        assert module not in reachable(edges, module), f"{module} imports itself through a cycle"


def test_serving_imports_nothing_of_training():
    edges, found = graph()
    for module in (m for m in found if m.startswith("server")):
        reached = reachable(edges, module)
        assert not reached & TRAINING, (module, sorted(reached & TRAINING))
        assert not any(m.split(".")[0] in ("tensorflow", "keras") for m in reached), module


def test_hypertune_uses_no_private_helper():
    _, found = graph()
    for module, tree in found.items():
        if not module.startswith("hypertune"):
            continue
        for target, names in imports(tree, found):
            assert not any(n.startswith("_") for n in names), (module, target, names)
        aliases = {a.asname or a.name for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))
                   for a in node.names}
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
                assert not node.attr.startswith("_") or node.attr.startswith("__"), (module, node.value.id, node.attr)


def test_model_modules_stay_short():
    for name in os.listdir(os.path.join(ROOT, "model")):
        if name.endswith(".py"):
            with open(os.path.join(ROOT, "model", name), encoding="utf-8") as f:
                assert sum(1 for _ in f) <= 450, name
