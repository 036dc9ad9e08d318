"""The model `python -m model.training.learn` starts from when it is given no --base: of the shipped
models (model/pretrained/, one model dir per language), the one whose language has the most source
bytes in the project.

    choice = choose_base("~/code/app")   # Choice(path=".../model/pretrained/c", language="c", sizes={...})
    print(choice.line())                 # base: model/pretrained/c (most source bytes: c 412 kB, lua 3 kB; ...)

A project's source files are what model.data.project.source_files counts (no .git, virtual
environments, vendored, build or git-ignored files); a file's language is its extension's
(model.text.clean.SOURCE_EXTENSIONS: .c and .h are C; stubs never).
"""
import os
from dataclasses import dataclass

from model.data.project import ProjectError, source_files
from model.serving.modeldir import DEFAULT, META, WORK_DIR_SUFFIXES, ModelDirError, read_meta
from model.text.clean import LANGUAGES, SOURCE_EXTENSIONS

SHIPPED = os.path.dirname(DEFAULT)  # model/pretrained


def language_of_meta(meta):
    """A model's language as its meta.json says (models from before the field are Python)."""
    return meta.get("language") or "python"


def extensions_of(meta):
    """The file extensions of a model's language: SOURCE_EXTENSIONS' (.c and .h for C), or the
    one its meta.json names for a language the table does not know."""
    language = language_of_meta(meta)
    return (SOURCE_EXTENSIONS[language] if language in LANGUAGES else ()) or (meta.get("extension") or "." + language,)


def shipped_models(models_dir=SHIPPED):
    """{language: model dir} of the models dir's model dirs (subdirs with a meta.json, not a run's
    work dir), the first in name order where two share a language; ModelDirError when there is none."""
    if not os.path.isdir(models_dir):
        raise ModelDirError(f"{models_dir}: no such models dir")
    found = {}
    for name in sorted(os.listdir(models_dir)):
        path = os.path.join(models_dir, name)
        if not name.endswith(WORK_DIR_SUFFIXES) and os.path.isfile(os.path.join(path, META)):
            meta = read_meta(path)
            found.setdefault(language_of_meta(meta), (path, extensions_of(meta)))
    if not found:
        raise ModelDirError(f"{models_dir}: no model dirs (subdirs with {META}) to start from; pass --base")
    return found


@dataclass
class Choice:
    path: str        # the chosen model dir
    language: str
    sizes: dict      # {language: source bytes in the project} for every shipped model's language

    def line(self):
        """One line for people: which base, and the sizes that chose it."""
        ranked = sorted(self.sizes.items(), key=lambda kv: (-kv[1], kv[0]))
        found = ", ".join(f"{language} {human(size)}" for language, size in ranked if size)
        missing = [language for language, size in ranked if not size]
        return f"base: {shown(self.path)} (most source bytes: {found}" + (f"; no {', '.join(missing)} files)" if missing else ")")


def shown(path):
    """A path as people read it: relative to the working dir when it is inside it."""
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative


def human(size):
    """1234567 -> '1.2 MB', 41234 -> '41 kB', 800 -> '800 B'."""
    if size >= 1_000_000:
        return f"{size / 1e6:.1f} MB"
    return f"{size / 1e3:.0f} kB" if size >= 1000 else f"{size} B"


def choose_base(project, models_dir=SHIPPED):
    """The Choice of the models dir's model whose language has the most source bytes in the
    project (ties: the language first in name order). ProjectError when the project has no
    source file of any of their languages, naming the languages and extensions looked for."""
    models = shipped_models(models_dir)
    language_of_ext = {ext: language for language, (_, exts) in models.items() for ext in exts}
    paths, _ = source_files(project, set(language_of_ext))
    sizes = dict.fromkeys(models, 0)
    for path, _ in paths:
        sizes[language_of_ext[os.path.splitext(path)[1]]] += os.path.getsize(path)
    language = min(sizes, key=lambda name: (-sizes[name], name))
    if not sizes[language]:
        looked_for = "; ".join(f"{name}: {' '.join(exts)}" for name, (_, exts) in sorted(models.items()))
        raise ProjectError(f"{project}: no source files of the languages of the models in {shown(models_dir)} "
                           f"(looked for {looked_for}); pass --base MODEL_DIR to start from another model")
    return Choice(models[language][0], language, sizes)
