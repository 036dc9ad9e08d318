"""A user's project: which of its files are its own source code (what model.training.learn learns from).

Skipped: version-control and tool dirs (.git, .tox, caches), virtual environments (any dir
holding pyvenv.cfg or conda-meta, and site-packages), node_modules, vendored code (vendor,
_vendor, third_party...), build and dist output (a build/ or dist/ dir that is not itself a
Python package), egg-info; and, when the project is a git checkout, whatever git ignores
(`git ls-files --others --exclude-standard`: .gitignore, .git/info/exclude, the global
excludes). Generated and minified files are skipped when the corpus is built
(model.data.corpus.generated_or_minified) and counted there.
"""
import os
import subprocess

SKIP_DIRS = {".git", ".hg", ".svn", ".tox", ".nox", ".eggs", ".mypy_cache", ".pytest_cache", ".ruff_cache",
             ".ipynb_checkpoints", "__pycache__", "node_modules", "bower_components", "site-packages",
             "vendor", "vendored", "_vendor", "third_party", "third-party", "thirdparty", "external"}
OUTPUT_DIRS = {"build", "dist", "_build", "out", "target"}


class ProjectError(Exception):
    """The project dir cannot be read as a project; the message says why."""


def skip_reason(dirpath, name):
    """Why the dir `name` inside `dirpath` holds no source of the project's own, or None."""
    path = os.path.join(dirpath, name)
    if name in SKIP_DIRS or name.endswith(".egg-info"):
        return "vendored" if "vendor" in name or "third" in name or name == "external" else "tooling"
    if os.path.exists(os.path.join(path, "pyvenv.cfg")) or os.path.isdir(os.path.join(path, "conda-meta")):
        return "virtualenv"
    if name in OUTPUT_DIRS and not os.path.exists(os.path.join(path, "__init__.py")):
        return "build_output"
    return None


def git_ignored(root):
    """The set of paths (relative to root) git ignores under it, or None when root is not in a
    git checkout (or git is not installed)."""
    try:
        inside = subprocess.run(["git", "-C", root, "rev-parse", "--is-inside-work-tree"], capture_output=True,
                                text=True, timeout=60)
        if inside.returncode != 0 or inside.stdout.strip() != "true":
            return None
        listed = subprocess.run(["git", "-C", root, "ls-files", "-z", "--others", "--ignored", "--exclude-standard",
                                 "--directory", "--", "."], capture_output=True, timeout=300)
    except (OSError, subprocess.SubprocessError):
        return None
    if listed.returncode != 0:
        return None
    return {os.path.normpath(p.decode("utf-8", "surrogateescape")) for p in listed.stdout.split(b"\0") if p}


def source_files(root, exts, label=None):
    """([(path, relative name)] of the project's source files with one of `exts`, {reason: count}
    of what was skipped). The relative name (label/relpath, label defaulting to the root's name)
    is what the corpus split hashes."""
    if not os.path.isdir(root):
        raise ProjectError(f"{root}: no such project dir")
    root = os.path.abspath(root)
    label = label or os.path.basename(root.rstrip(os.sep)) or "project"
    ignored = git_ignored(root)
    skipped, found = {}, []
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        keep = []
        for name in sorted(dirnames):
            rel = os.path.normpath(os.path.join(rel_dir, name))
            reason = skip_reason(dirpath, name) or ("gitignored" if ignored and rel in ignored else None)
            if reason:
                skipped[reason] = skipped.get(reason, 0) + 1
            elif not os.path.islink(os.path.join(dirpath, name)):
                keep.append(name)
        dirnames[:] = keep
        for name in sorted(filenames):
            if os.path.splitext(name)[1] not in exts:
                continue
            rel = os.path.normpath(os.path.join(rel_dir, name))
            if ignored and rel in ignored:
                skipped["gitignored"] = skipped.get("gitignored", 0) + 1
            elif os.path.isfile(os.path.join(dirpath, name)):
                found.append((os.path.join(dirpath, name), os.path.join(label, rel)))
    return found, skipped
