"""The import graph of the project's packages, read from their source (function-level imports
included): no cycle; model/'s sub-packages import one way along the data flow, so serving
reaches nothing of data, training or measurement (nor TensorFlow); the tools that test or
measure a server stay out of the runtime packages; hypertune uses only public names."""
import ast
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGES = ("model", "server", "servercheck", "hypertune")

# What each part may import of the project (besides itself). One way: text <- serving <- data,
# measure <- training <- hypertune; the server runs text and serving only.
MAY_IMPORT = {
    "model.text": set(),
    "model.serving": {"model.text"},
    "model.data": {"model.text"},
    "model.measure": {"model.text", "model.serving", "model.data"},
    "model.training": {"model.text", "model.serving", "model.data", "model.measure"},
    "server": {"model.text", "model.serving"},
    "servercheck": {"model.text", "model.serving", "model.data", "model.measure", "server"},
    "hypertune": {"model.text", "model.serving", "model.data", "model.measure", "model.training"},
}
RUNTIME = ("model.text", "model.serving", "server")
HEAVY = ("tensorflow", "keras", "pyspark", "hyperopt", "matplotlib", "tqdm", "pytest")


def modules():
    """module name -> parsed source, for every .py file of the packages, sub-packages included."""
    found = {}
    for package in PACKAGES:
        for folder, dirs, files in os.walk(os.path.join(ROOT, package)):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            parts = os.path.relpath(folder, ROOT).split(os.sep)
            for name in sorted(files):
                if name.endswith(".py"):
                    module = ".".join(parts if name == "__init__.py" else parts + [name[:-3]])
                    with open(os.path.join(folder, name), encoding="utf-8") as f:
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


def part_of(module):
    """The part (a key of MAY_IMPORT) a project module belongs to; None for model/__init__ and
    anything outside the project."""
    return next((p for p in sorted(MAY_IMPORT, key=len, reverse=True) if module == p or module.startswith(p + ".")),
                None)


def test_every_module_belongs_to_a_part():
    _, found = graph()
    assert not [m for m in found if part_of(m) is None and m != "model"], "a module outside the parts"


def test_no_import_cycle():
    edges, found = graph()
    for module in found:
        assert module not in reachable(edges, module), f"{module} imports itself through a cycle"


def test_parts_import_one_way():
    edges, found = graph()
    for module in found:
        part = part_of(module)
        for target in edges[module]:
            other = part_of(target)
            if other is not None and other != part:
                assert other in MAY_IMPORT.get(part, set()), f"{module} imports {target} ({part} -> {other})"


def test_runtime_reaches_nothing_heavy():
    """The server's light install has no TensorFlow, Spark, plots or test tools: nothing it runs
    may import them."""
    edges, found = graph()
    for module in (m for m in found if part_of(m) in RUNTIME):
        reached = reachable(edges, module)
        assert not any(m.split(".")[0] in HEAVY for m in reached), (module, sorted(m for m in reached
                                                                                     if m.split(".")[0] in HEAVY))
        assert not any(part_of(m) not in RUNTIME + (None,) for m in reached), (module, sorted(reached))


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
    for folder, _, files in os.walk(os.path.join(ROOT, "model")):
        for name in files:
            if name.endswith(".py"):
                with open(os.path.join(folder, name), encoding="utf-8") as f:
                    assert sum(1 for _ in f) <= 450, os.path.join(folder, name)


def test_the_rules_can_fail():
    """The checks above see a real violation: a serving module importing training."""
    tree = ast.parse("from model.training.train import train\n")
    found = {"model.serving.x": tree, "model.training.train": ast.parse("")}
    targets = {t for t, _ in imports(tree, found)}
    assert "model.training.train" in targets
    assert part_of("model.training.train") not in MAY_IMPORT["model.serving"]
