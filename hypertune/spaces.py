"""Search spaces: the paper's grid and a wide one, plus --set overrides.

A space is a dict of every train() hyperparameter; searched ones are hyperopt nodes, the rest
are constants, so each trial gets a complete, explicit set of parameters.
"""
import math

from hyperopt import hp

from model.training.network import DEFAULTS  # train()'s own, for whatever a space does not search

TYPES = {"layers": int, "units": int, "embedding_dim": int, "dropout": float, "seq_len": int,
         "learning_rate": float, "batch_size": int}

# The paper's Table I grid: 2 x 3 x 3 over a 2-layer LSTM of `units` per layer (its section IV.C).
PAPER = {
    "units": ("choice", [128, 256]),
    "learning_rate": ("choice", [0.001, 0.01, 0.1]),
    "batch_size": ("choice", [128, 256, 512]),
}

WIDE = {
    "layers": ("choice", [1, 2, 3]),
    "units": ("qloguniform", (128, 1024, 64)),
    "dropout": ("quniform", (0.0, 0.5, 0.05)),
    "seq_len": ("choice", [64, 128, 256]),
    "embedding_dim": ("choice", [16, 32, 64, 128]),
    "learning_rate": ("loguniform", (1e-4, 1e-1)),
    "batch_size": ("choice", [32, 64, 128, 256, 512]),
}

SPACES = {"paper": PAPER, "wide": WIDE}


def parse_set(text):
    """'units=8,16' -> ('units', [8, 16]); the name may use dashes; values are typed by name."""
    name, sep, values = text.partition("=")
    name = name.strip().replace("-", "_")
    if not sep or not values.strip():
        raise ValueError(f"--set {text!r}: expected NAME=VALUE[,VALUE...]")
    if name not in TYPES:
        raise ValueError(f"--set {text!r}: unknown hyperparameter {name!r}; known: {', '.join(TYPES)}")
    try:
        parsed = [TYPES[name](float(v) if TYPES[name] is int else v) for v in values.split(",")]
    except ValueError:
        raise ValueError(f"--set {text!r}: values of {name} must be {TYPES[name].__name__}s") from None
    if TYPES[name] is int and any(v < 1 for v in parsed):
        raise ValueError(f"--set {text!r}: {name} must be at least 1")
    if name == "dropout" and any(not 0 <= v < 1 for v in parsed):
        raise ValueError(f"--set {text!r}: dropout must be in [0, 1)")
    if name == "learning_rate" and any(not v > 0 for v in parsed):
        raise ValueError(f"--set {text!r}: learning_rate must be above 0")
    return name, parsed


def describe(space_name, overrides):
    """{name: spec} of the dimensions actually searched, after overrides (for reports)."""
    dims = dict(SPACES[space_name])
    for name, values in overrides.items():
        dims[name] = ("choice", list(values))
    return {name: spec for name, spec in dims.items() if not (spec[0] == "choice" and len(spec[1]) == 1)}


def build(space_name, overrides=None):
    """The hyperopt space: defaults, then the named space, then --set overrides (a list of values
    becomes a choice; one value is fixed)."""
    if space_name not in SPACES:
        raise ValueError(f"unknown space {space_name!r}; choose from {', '.join(SPACES)}")
    space = dict(DEFAULTS)
    dims = dict(SPACES[space_name])
    for name, values in (overrides or {}).items():
        dims[name] = ("choice", list(values))
    for name, (kind, arg) in dims.items():
        if kind == "choice":
            space[name] = arg[0] if len(arg) == 1 else hp.choice(name, arg)
        elif kind == "qloguniform":
            low, high, q = arg
            space[name] = hp.qloguniform(name, math.log(low), math.log(high), q)
        elif kind == "quniform":
            space[name] = hp.quniform(name, *arg)
        elif kind == "loguniform":
            space[name] = hp.loguniform(name, math.log(arg[0]), math.log(arg[1]))
        else:
            raise AssertionError(kind)
    return space


def concrete(params):
    """hyperopt hands q-distributions back as floats; give train() the types it expects."""
    out = {}
    for name, value in params.items():
        kind = TYPES.get(name)
        out[name] = int(round(value)) if kind is int else float(value) if kind is float else value
    if "dropout" in out:
        out["dropout"] = round(out["dropout"], 4)
    return out
