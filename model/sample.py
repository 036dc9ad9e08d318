"""Complete code with a trained model dir, fast.

    python -m model.sample --model model/pretrained/python --prime "import os\nfor name in os.li"
    python -m model.sample --model DIR --prime "def " --stop none --chars 400 --temperature 0.7 --seed 1

The Completer never calls model.predict once per character: the network is stepped by hand
in numpy with its state carried, and the state at each line start of a buffer is cached, so the
next Tab in the same buffer only runs the characters typed since. Its next-character
distribution mixes the network's with two hints from the buffer: the words already in it (inside
an identifier) and a match model (what followed the last occurrence of the recent characters).
"""
import argparse
import bisect
import hashlib
import io
import json
import os
import re
import sys
import threading
import time
import zipfile
from collections import OrderedDict, deque
from dataclasses import dataclass, field

import numpy as np
from numba import njit
from threadpoolctl import ThreadpoolController

from model.corpus import FILE_START, clean
from model.vocab import UNKNOWN_ID, Vocab


# -- The LSTM kernel ---------------------------------------------------------------------------
# A layer-step reads the whole recurrent matrix (1 MB for 256 units), so the time goes to memory
# traffic and to per-call overhead. numba runs a whole chunk of steps in one compiled call with
# the activations vectorised, and releases the GIL so two layers can run on two cores at once.

@njit(fastmath=True, inline="always", cache=True)
def _tanh(x):
    """float32 tanh as a rational function (Eigen's, which TensorFlow's CPU kernels use);
    max abs error 3e-7."""
    x = min(max(x, np.float32(-7.90531110763549805)), np.float32(7.90531110763549805))
    x2 = x * x
    p = x2 * np.float32(-2.76076847742355e-16) + np.float32(2.00018790482477e-13)
    p = x2 * p + np.float32(-8.60467152213735e-11)
    p = x2 * p + np.float32(5.12229709037114e-08)
    p = x2 * p + np.float32(1.48572235717979e-05)
    p = x2 * p + np.float32(6.37261928875436e-04)
    p = x2 * p + np.float32(4.89352455891786e-03)
    q = x2 * np.float32(1.19825839466702e-06) + np.float32(1.18534705686654e-04)
    q = x2 * q + np.float32(2.26843463243900e-03)
    q = x2 * q + np.float32(4.89352518554385e-03)
    return x * p / q


@njit(fastmath=True, nogil=True, cache=True)
def lstm_layer(proj, recurrent, h, c, h_out, c_out):
    """Run one LSTM layer over proj (T x 4u, the input projection + bias), updating h and c
    in place and writing each step's h and c to h_out and c_out (T x u). Sigmoid columns come
    pre-halved."""
    steps, width = proj.shape
    units = width // 4
    half = np.float32(0.5)
    z = np.empty(width, np.float32)
    for t in range(steps):
        for j in range(width):
            z[j] = proj[t, j]
        for i in range(units):
            hi = h[i]
            for j in range(width):
                z[j] += hi * recurrent[i, j]
        for j in range(width):
            z[j] = _tanh(z[j])
        for j in range(units):
            cj = (half * z[units + j] + half) * c[j] + (half * z[j] + half) * z[2 * units + j]
            c[j] = cj
            h[j] = (half * z[3 * units + j] + half) * _tanh(cj)
            h_out[t, j] = h[j]
            c_out[t, j] = cj


def _halve_sigmoid_gates(w, units):
    """Keras orders an LSTM's gate columns i, f, g (tanh), o."""
    w = w.copy()
    w[..., :2 * units] *= 0.5
    w[..., 3 * units:] *= 0.5
    return w


_BLAS = None


def _blas_threads():
    global _BLAS
    if _BLAS is None:
        _BLAS = ThreadpoolController()  # inspecting the loaded libraries takes ~2 ms: once
    return _BLAS


class Stepper:
    """The Keras network run by hand in numpy, one character at a time, state carried.

    Layer 1's input projection is a table lookup (embedding @ kernel), so a step costs one
    small matrix-vector product per layer; the output layer only runs where a distribution
    is wanted, never along a prefix. The sigmoid gates' columns are pre-scaled by 1/2 so one
    tanh call covers all four gates: sigmoid(x) = (tanh(x/2) + 1) / 2.
    """

    def __init__(self, embedding, lstms, dense_kernel, dense_bias):
        self.units = [r.shape[0] for _, r, _ in lstms]
        self.lstms = [tuple(_halve_sigmoid_gates(w.astype(np.float32), r.shape[0]) for w in (k, r, b))
                      for k, r, b in lstms]
        kernel0, _, bias0 = self.lstms[0]
        self.input_table = (embedding.astype(np.float32) @ kernel0 + bias0).astype(np.float32)
        self.dense_kernel = dense_kernel.astype(np.float32)
        self.dense_bias = dense_bias.astype(np.float32)
        self.vocab_size = self.dense_bias.shape[0]

    @classmethod
    def from_keras(cls, model):
        embedding, lstms, dense = None, [], None
        for layer in model.layers:
            kind = type(layer).__name__
            if kind == "Embedding":
                embedding = layer.get_weights()[0]
            elif kind == "LSTM":
                lstms.append(tuple(layer.get_weights()))
            elif kind == "Dense":
                dense = layer.get_weights()
        if embedding is None or not lstms or dense is None:
            raise ValueError("model is not Embedding -> LSTM... -> Dense")
        return cls(embedding, lstms, *dense)

    def zero_state(self):
        return [(np.zeros(u, np.float32), np.zeros(u, np.float32)) for u in self.units]

    PIPELINE_MIN = 512  # below this many characters, threads cost more than they save
    PIPELINE_CHUNK = 128

    def run(self, ids, state, outputs=False):
        """Feed ids (1-D) through the network; return the state after the last one
        (and, with outputs=True, the last layer's output at every position)."""
        state, hs, _ = self.run_all(ids, state)
        return (state, hs[-1]) if outputs else state

    def run_all(self, ids, state):
        """Feed ids through the network; return the state after the last one, and each layer's
        h and c at every position (T x units arrays; state_at reads a state out of them), so one
        pass over a long buffer yields every state a cache wants.

        Layer l+1's input projection is one matrix product per chunk, so only the recurrent
        product is sequential; on a long run the layers are pipelined on separate threads
        (layer 2 runs chunk k while layer 1 runs chunk k+1)."""
        state = [(h.copy(), c.copy()) for h, c in state]  # the kernel updates in place
        hs = [np.empty((len(ids), u), np.float32) for u in self.units]
        cs = [np.empty((len(ids), u), np.float32) for u in self.units]
        if len(ids) >= self.PIPELINE_MIN and len(self.lstms) > 1:
            # BLAS's own threads would fight the pipeline's for the same cores.
            with _blas_threads().limit(limits=1, user_api="blas"):
                self._run_pipelined(ids, state, hs, cs)
        elif len(ids):
            for layer in range(len(self.lstms)):
                self._run_chunk(layer, ids, slice(0, len(ids)), state, hs, cs)
        return state, hs, cs

    @staticmethod
    def state_at(hs, cs, position):
        """The state after the first `position` ids of a run_all, as copies (the cache keeps
        them, not the whole arrays)."""
        return [(h[position - 1].copy(), c[position - 1].copy()) for h, c in zip(hs, cs)]

    def _run_chunk(self, layer, ids, span, state, hs, cs):
        kernel, recurrent, bias = self.lstms[layer]
        if layer == 0:
            proj = self.input_table[ids[span]]
        else:
            proj = hs[layer - 1][span] @ kernel
            proj += bias
        h, c = state[layer]
        lstm_layer(proj, recurrent, h, c, hs[layer][span], cs[layer][span])

    def _run_pipelined(self, ids, state, hs, cs):
        spans = [slice(i, min(i + self.PIPELINE_CHUNK, len(ids))) for i in range(0, len(ids), self.PIPELINE_CHUNK)]
        done = [[threading.Event() for _ in spans] for _ in self.lstms]
        errors = []

        def work(layer):
            try:
                for k, span in enumerate(spans):
                    if layer > 0:
                        done[layer - 1][k].wait()
                        if errors:
                            return
                    self._run_chunk(layer, ids, span, state, hs, cs)
                    done[layer][k].set()
            except BaseException as err:  # surface it in the caller, and unblock the others
                errors.append(err)
                for events in done:
                    for e in events:
                        e.set()

        threads = [threading.Thread(target=work, args=(layer,), daemon=True) for layer in range(1, len(self.lstms))]
        for t in threads:
            t.start()
        work(0)
        for t in threads:
            t.join()
        if errors:
            raise errors[0]

    def logits(self, state):
        return state[-1][0] @ self.dense_kernel + self.dense_bias

    def probs(self, state, temperature=1.0):
        z = self.logits(state).astype(np.float64) / max(temperature, 1e-6)
        z -= z.max()
        p = np.exp(z)
        return p / p.sum()

    def step(self, char_id, state):
        return self.run(np.array([char_id], dtype=np.int32), state)


def generate(stepper, vocab, prime, chars=200, temperature=0.8, seed=None):
    """Plain sampling, for watching a model during training and `--stop none`."""
    rng = np.random.default_rng(seed)
    state = stepper.run(vocab.encode(prime), stepper.zero_state())
    out = []
    for _ in range(chars):
        p = stepper.probs(state, temperature) if temperature > 0 else None
        next_id = int(np.argmax(stepper.logits(state))) if p is None else int(rng.choice(len(p), p=p))
        out.append(next_id)
        state = stepper.step(next_id, state)
    return vocab.decode(out)


# -- Loading a model dir ------------------------------------------------------------------

class ModelDirError(Exception):
    """A model dir is missing, incomplete or inconsistent; the message says what is wrong."""


def _snake_names(class_names):
    """Keras 3 stores layer weights under snake_case(class) with _1, _2... for repeats."""
    seen, names = {}, []
    for cls in class_names:
        base = re.sub(r"\W+", "", cls)
        base = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", base)
        base = re.sub("([a-z])([A-Z])", r"\1_\2", base).lower()  # keras.src.utils.naming.to_snake_case
        n = seen.get(base, 0)
        names.append(base if n == 0 else f"{base}_{n}")
        seen[base] = n + 1
    return names


def read_keras_weights(path):
    """The weights of model.keras, read with h5py: serving needs no TensorFlow import (fast
    worker start, a fraction of the memory). A parity test holds this to Keras itself."""
    import h5py

    try:
        with zipfile.ZipFile(path) as z:
            config = json.loads(z.read("config.json"))
            weights = h5py.File(io.BytesIO(z.read("model.weights.h5")), "r")
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as err:
        raise ModelDirError(f"{path}: not a readable .keras file ({err})") from None
    layers = config.get("config", {}).get("layers", [])
    classes = [layer["class_name"] for layer in layers]
    embedding, lstms, dense = None, [], None
    try:
        for cls, name in zip(classes, _snake_names(classes)):
            if cls == "Embedding":
                embedding = weights[f"layers/{name}/vars/0"][()]
            elif cls == "LSTM":
                lstms.append(tuple(weights[f"layers/{name}/cell/vars/{i}"][()] for i in range(3)))
            elif cls == "Dense":
                dense = (weights[f"layers/{name}/vars/0"][()], weights[f"layers/{name}/vars/1"][()])
    except KeyError as err:
        raise ModelDirError(f"{path}: weights do not match its config ({err})") from None
    if embedding is None or not lstms or dense is None:
        raise ModelDirError(f"{path}: expected Embedding -> LSTM... -> Dense, found {classes}")
    return Stepper(embedding, lstms, *dense)


def check_model_dir(model_dir):
    """Return (meta, vocab) or raise ModelDirError naming what is wrong."""
    if not os.path.isdir(model_dir):
        raise ModelDirError(f"{model_dir}: no such model dir")
    missing = [f for f in ("model.keras", "vocab.json", "meta.json") if not os.path.exists(os.path.join(model_dir, f))]
    if missing:
        raise ModelDirError(f"{model_dir}: missing {', '.join(missing)} (train one with python -m model.train)")
    try:
        with open(os.path.join(model_dir, "meta.json"), encoding="utf-8") as f:
            meta = json.load(f)
        if not isinstance(meta, dict) or "network" not in meta:
            raise ValueError("no 'network' section")
    except (ValueError, UnicodeDecodeError) as err:
        raise ModelDirError(f"{model_dir}/meta.json: corrupt ({err})") from None
    try:
        vocab = Vocab.load(os.path.join(model_dir, "vocab.json"))
    except (ValueError, UnicodeDecodeError) as err:
        raise ModelDirError(f"{model_dir}/vocab.json: corrupt ({err})") from None
    return meta, vocab


# -- The match model --------------------------------------------------------------------------
# Code repeats itself within a file far more than a small LSTM can remember: a line written
# twice, a call pattern, a name. Compressors exploit this with a match model (lpaq, cmix): find
# the last time the recent characters occurred and predict the character that came next. The
# Completer mixes that prediction into the network's, with a weight that grows with the length
# of the match, fitted on the val split (model.evaluate --fit-match, stored in meta.json).

MATCH_MIN = 5     # characters of context a match must share
MATCH_MAX = 64    # longer agreements count as this long
MATCH_EDGES = (5, 6, 8, 10, 12, 16, 20, 24, 32, 48, 64)  # length buckets, one weight each


MATCH_TABLE_BITS = 16  # fixed, so a prediction never depends on how much text follows


@njit(cache=True)
def _match_take(ids, i, table, ptr, length, insert, window):
    """The match state after taking in ids[i], given the state before it. A new match starts
    only within the last `window` characters (what a server request carries)."""
    if length > 0 and ids[ptr] == ids[i]:  # the match predicted it: it goes on
        return ptr + 1, min(length + 1, MATCH_MAX)
    length = 0
    if i + 1 < MATCH_MIN:
        return ptr, 0
    h = 0
    for k in range(i + 1 - MATCH_MIN, i + 1):
        h = (h * 0x2F0F3 + ids[k] + 1) & 0xFFFFFFFF
    h &= (1 << MATCH_TABLE_BITS) - 1
    j = table[h]
    if j >= 0 and i + 1 - j <= window:
        agree = 0  # a hash collision agrees on fewer than MATCH_MIN characters
        while agree < MATCH_MAX and j - 1 - agree >= 0 and ids[j - 1 - agree] == ids[i - agree]:
            agree += 1
        if agree >= MATCH_MIN:
            ptr, length = j, agree
    if insert:
        table[h] = i + 1
    return ptr, length


@njit(cache=True)
def match_scan(ids, preds, lengths, table, window):
    """Run the match model along ids, remembering every position in table. For each position i,
    preds[i] is the id that followed the most recent earlier occurrence of the context before i
    (-1 if none) and lengths[i] how many characters of context agree (0 if none). Returns the
    state (ptr, length) after the last id."""
    ptr, length = -1, 0
    for i in range(len(ids)):
        preds[i] = ids[ptr] if length > 0 else -1
        lengths[i] = length
        ptr, length = _match_take(ids, i, table, ptr, length, True, window)
    return ptr, length


@njit(cache=True)
def match_resume(ids, start, table, ptr, length):
    """Go on from a scan of ids[:start] over the generated ids[start:], without remembering
    them (a completion should copy the buffer, not itself). Returns (predicted id or -1, length)."""
    for i in range(start, len(ids)):
        ptr, length = _match_take(ids, i, table, ptr, length, False, len(ids))
    return (ids[ptr], length) if length > 0 else (-1, 0)


def new_match_table():
    return np.full(1 << MATCH_TABLE_BITS, -1, np.int32)


def match_predictions(ids, window=None):
    """(preds, lengths) of the match model at every position of ids, looking back at most
    `window` characters (default: all of them)."""
    ids = np.ascontiguousarray(ids, dtype=np.int32)
    preds, lengths = np.empty(len(ids), np.int32), np.empty(len(ids), np.int32)
    match_scan(ids, preds, lengths, new_match_table(), window or len(ids))
    return preds, lengths


def match_bucket(lengths):
    """Index into MATCH_EDGES of each (non-zero) match length."""
    return np.searchsorted(MATCH_EDGES, lengths, side="right") - 1


def mix_match(p, preds, lengths, weights):
    """Mix the match model into next-character distributions (rows of p): (1 - w) p, plus w on
    the predicted id, w the weight of the match's length bucket. Rows whose pred is -1 keep p."""
    p, preds, lengths = np.atleast_2d(p), np.atleast_1d(preds), np.atleast_1d(lengths)
    has = preds >= 0
    w = np.where(has, weights[match_bucket(np.maximum(lengths, MATCH_MIN))], 0.0)
    mixed = (1 - w)[:, None] * p
    mixed[np.flatnonzero(has), preds[has]] += w[has]
    return mixed


# -- The Completer --------------------------------------------------------------------------

@dataclass
class Completion:
    text: str                        # the best completion ("" when the model is unsure)
    alternatives: list               # up to n completions, best first (alternatives[0] == text)
    probs: list                      # probability of each character of `text`
    stop_reason: str = ""            # line, block, max_chars, min_prob, repeat, in_comment, ...
    context_chars: int = 0           # characters of (cleaned) buffer the model read
    new_chars: int = 0               # of those, how many it had to run (the rest came from the cache)
    alternative_probs: list = field(default_factory=list)


CHUNK = 64  # the state is cached at every line start and at least every CHUNK characters


class StateCache:
    """LRU map: hash of a context prefix (up to a cache point) -> LSTM state after it."""

    def __init__(self, max_entries=4096):
        self.max_entries = max_entries
        self.entries = OrderedDict()
        self.hits = self.misses = 0
        self.lock = threading.Lock()

    def get(self, key):
        with self.lock:
            state = self.entries.get(key)
            if state is not None:
                self.entries.move_to_end(key)
            return state

    def put(self, key, state):
        with self.lock:
            self.entries[key] = state
            self.entries.move_to_end(key)
            while len(self.entries) > self.max_entries:
                self.entries.popitem(last=False)


def _cache_points(ids, newline_id):
    """Where the state is kept: after every newline (an edit on a line reruns only that line) and
    every CHUNK characters (so long lines are covered too), in order."""
    points = set(range(CHUNK, len(ids) + 1, CHUNK))
    if newline_id is not None:
        points.update((np.flatnonzero(ids == newline_id) + 1).tolist())
    return sorted(points)


def _prefix_keys(ids, points):
    """Hash of ids[:p] for each of the points, incrementally (O(n) in all)."""
    h = hashlib.blake2b(digest_size=16)
    keys, done = [], 0
    for p in points:
        h.update(ids[done:p].tobytes())
        done = p
        keys.append(h.digest())
    return keys


WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
TRAILING_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


class WordCache:
    """The identifiers of the buffer, for finishing one the user has started.

    Code repeats its own names, which a character model that has read the last 2000 characters
    cannot copy from further up. So inside an identifier the model's next-character distribution
    is mixed with the buffer's: the words that start with what is typed so far, weighted by how
    often (and how recently) they occur, vote for their next character or for ending the word
    (a character-level cache model, after Grave et al. 2017's neural cache).
    """

    def __init__(self, text):
        counts, n = {}, max(len(text), 1)
        for m in WORD.finditer(text):
            counts[m.group()] = counts.get(m.group(), 0.0) + 1.0 + m.start() / n  # later ones weigh up to 2x
        self.counts = counts
        self.words = sorted(counts)

    def next_chars(self, prefix):
        """{next character, or None where the word ends: weight} over the words starting with prefix."""
        votes = {}
        i = bisect.bisect_left(self.words, prefix)
        while i < len(self.words) and self.words[i].startswith(prefix):
            word = self.words[i]
            key = word[len(prefix)] if len(word) > len(prefix) else None
            votes[key] = votes.get(key, 0.0) + self.counts[word]
            i += 1
        return votes


def _match_weights(meta):
    """The match model's weight per length bucket from meta.json, or None when it has none."""
    match = meta.get("match")
    if match is None:
        return None
    try:
        weights = np.array(match["weights"], dtype=np.float64)
        if tuple(match["edges"]) != MATCH_EDGES or match["min"] != MATCH_MIN or match["max"] != MATCH_MAX:
            raise ValueError(f"fitted for other lengths ({match['edges']})")
        if weights.shape != (len(MATCH_EDGES),) or not np.all((weights >= 0) & (weights < 1)):
            raise ValueError("weights must be one number in [0, 1) per length bucket")
    except (KeyError, TypeError, ValueError) as err:
        raise ModelDirError(f"meta.json 'match' is unusable ({err}); refit it with "
                            f"python -m model.evaluate --model DIR --corpus DIR --split val --fit-match") from None
    return weights


@dataclass
class BufferHints:
    """What a request's buffer knows beyond the network: its words and its match-model state."""
    words: object = None          # WordCache, or None
    match_ids: object = None      # ids of the whole cleaned buffer, or None
    match_table: object = None
    match_state: tuple = (-1, 0)  # (ptr, length) after the buffer

    def match(self, generated):
        """(predicted id or -1, length) after the buffer and the ids generated so far."""
        if self.match_ids is None:
            return -1, 0
        if not generated:
            ptr, length = self.match_state
            return (int(self.match_ids[ptr]), length) if length > 0 else (-1, 0)
        ids = np.concatenate([self.match_ids, np.asarray(generated, dtype=np.int32)])
        return match_resume(ids, len(self.match_ids), self.match_table, *self.match_state)


class Completer:
    # The model's loss is the same with 1000 characters of context as with 8000 (python -m
    # model.evaluate --context-curve): an LSTM trained with 64-char backprop windows forgets
    # beyond that. 2000 keeps a margin and makes a cold buffer cost half of 4000.
    CONTEXT_CHARS = 2000

    # Weight of the buffer's words inside an identifier (WordCache), chosen on the val split with
    # python -m model.evaluate --word-weight W (README, "Measured").
    WORD_WEIGHT = 0.5

    RECENT_TAIL = 128  # states kept along the end of each recent request

    def __init__(self, stepper, vocab, meta, context_chars=CONTEXT_CHARS, cache_entries=4096,
                 word_weight=WORD_WEIGHT, use_match=True):
        if len(vocab) != stepper.vocab_size or stepper.input_table.shape[0] != len(vocab):
            raise ModelDirError(f"vocab has {len(vocab)} ids but the network has {stepper.vocab_size}")
        self.stepper, self.vocab, self.meta = stepper, vocab, meta
        self.language = meta.get("language", "python")
        self.ext = meta.get("extension") or {"python": ".py"}.get(self.language, "." + self.language)
        self.cleaning = meta.get("cleaning", {})
        if not 0 <= word_weight <= 1:
            raise ValueError("word_weight must be between 0 and 1")
        self.context_chars = context_chars
        self.word_weight = word_weight
        self.cache = StateCache(cache_entries)
        self.recent = deque(maxlen=8)  # (ids, first, h, c): states along the end of recent requests
        # Never emit the unknown character or a file start: they are not code a user wants.
        self.banned = [UNKNOWN_ID] + [i for i in (vocab.index.get(FILE_START),) if i is not None]
        self.newline_id = vocab.index.get("\n")
        # Where a word ends, the model says what follows it: its distribution over these.
        self.not_word_char = np.array([0.0] + [0.0 if WORD.match(c) or c.isdigit() else 1.0 for c in vocab.chars])
        self.not_word_char[self.banned] = 0.0
        self.match_weights = _match_weights(meta) if use_match else None

    @classmethod
    def load(cls, model_dir, **kwargs):
        meta, vocab = check_model_dir(model_dir)
        stepper = read_keras_weights(os.path.join(model_dir, "model.keras"))
        net = meta["network"]
        if net.get("units") not in (None, stepper.units[0]) or net.get("layers") not in (None, len(stepper.units)):
            raise ModelDirError(f"{model_dir}: meta.json says {net.get('layers')}x{net.get('units')} "
                                f"but model.keras is {len(stepper.units)}x{stepper.units[0]}")
        return cls(stepper, vocab, meta, **kwargs)

    # The context: whole buffer, cleaned like the corpus, capped at a stable line start.
    def context(self, text):
        cleaned = clean(text, self.ext, self.cleaning, partial=True)
        body = cleaned.text
        if len(body) + 1 <= self.context_chars:
            return FILE_START + body, cleaned
        # Cut at a line start chosen by the line's content, not by position: as the user types
        # (and the editor's window slides) the cut stays put, so the state cache keeps hitting.
        lo = len(body) - self.context_chars
        hi = lo + self.context_chars // 4
        cut = body.find("\n", lo) + 1
        pos = cut
        while 0 < pos < hi:
            line_end = body.find("\n", pos)
            if line_end < 0:
                break
            if hashlib.blake2b(body[pos:line_end].encode(), digest_size=2).digest()[0] % 8 == 0:
                cut = pos
                break
            pos = line_end + 1
        return body[cut or lo:], cleaned

    def state_for(self, ids):
        """The LSTM state after ids, running only what the cache does not already know.

        Two caches: states at every line start (and every CHUNK characters) of recent contexts
        (an edit on a line reruns only from its start), and the states at each of the last
        RECENT_TAIL characters of the last few requests: the next Tab after typing a few
        characters runs just those, and after backspacing over a few, only what differs.
        """
        points = _cache_points(ids, self.newline_id)
        keys = _prefix_keys(ids, points)
        start, state = 0, None
        for point, key in zip(reversed(points), reversed(keys)):
            state = self.cache.get(key)
            if state is not None:
                start = point
                break
        with self.cache.lock:
            for end_ids, first, tail_h, tail_c in reversed(self.recent):
                n = min(len(end_ids), len(ids))
                differ = np.flatnonzero(end_ids[:n] != ids[:n])
                common = int(differ[0]) if len(differ) else n
                if common > max(start, first):  # the state after ids[:common] is in this tail
                    start, state = common, self.stepper.state_at(tail_h, tail_c, common - first)
        if state is None:
            self.cache.misses += 1
            state = self.stepper.zero_state()
        else:
            self.cache.hits += 1
        # One pass over the new characters (long ones pipelined), keeping the state at each
        # cache point for the cache, and along the end for the next request.
        state, hs, cs = self.stepper.run_all(ids[start:], state)
        for point, key in zip(points, keys):
            if point > start:
                self.cache.put(key, self.stepper.state_at(hs, cs, point - start))
        tail = min(len(ids) - start, self.RECENT_TAIL)
        if tail:
            tail_h, tail_c = [h[len(h) - tail:].copy() for h in hs], [c[len(c) - tail:].copy() for c in cs]
            with self.cache.lock:
                self.recent.append((ids.copy(), len(ids) - tail, tail_h, tail_c))
        return state, len(ids) - start

    def complete(self, text, suffix="", max_chars=80, stop="line", temperature=0.0, n=1, min_prob=None, seed=None):
        if stop not in ("line", "block", "none"):
            raise ValueError(f"stop must be 'line', 'block' or 'none', not {stop!r}")
        if not isinstance(max_chars, int) or max_chars < 1:
            raise ValueError("max_chars must be a positive integer")
        if not isinstance(n, int) or n < 1:
            raise ValueError("n must be a positive integer")
        if temperature < 0:
            raise ValueError("temperature must be >= 0")
        context, cleaned = self.context(text)
        if cleaned.cursor_in_removed:
            return Completion("", [], [], "in_comment", len(context), 0)
        ids = self.vocab.encode(context)
        state, new_chars = self.state_for(ids)
        rules = StopRules(context, suffix, stop, max_chars)
        typed = TRAILING_WORD.search(context[-200:])
        typed = typed.group() if typed else ""
        hints = self.hints(cleaned.text, typed)
        if temperature == 0 and n == 1:
            results = [self._decode(state, rules, min_prob, hints, typed)]
        elif temperature == 0:
            results = self._beam(state, rules, min_prob, n, hints, typed)
        else:
            rng = np.random.default_rng(seed)
            results = [self._decode(state, rules, min_prob, hints, typed, temperature, rng) for _ in range(n)]
            results.sort(key=lambda r: -_mean_logprob(r[1]))
        alternatives, seen = [], set()
        for text_, probs, reason in results:
            if text_ and text_ not in seen:
                seen.add(text_)
                alternatives.append((text_, probs, reason))
        if not alternatives:
            reason = results[0][2] if results else "empty"
            return Completion("", [], [], reason, len(context), new_chars)
        best = alternatives[0]
        return Completion(best[0], [a[0] for a in alternatives[:n]], best[1], best[2], len(context), new_chars,
                          [a[1] for a in alternatives[:n]])

    def hints(self, buffer, typed=""):
        """BufferHints for a cleaned buffer (all of it, not just the context the network reads)."""
        hints = BufferHints()
        if self.word_weight > 0:
            # Less the word being typed: it is not a word of the buffer yet.
            hints.words = WordCache(buffer[:len(buffer) - len(typed)])
        if self.match_weights is not None:
            hints.match_ids = self.vocab.encode(FILE_START + buffer).astype(np.int32)
            hints.match_table = new_match_table()
            scratch = np.empty(len(hints.match_ids), np.int32)
            hints.match_state = match_scan(hints.match_ids, scratch, scratch.copy(), hints.match_table,
                                           len(hints.match_ids))
        return hints

    def _distribution(self, state, hints=None, word="", generated=(), temperature=1.0):
        """The next character's distribution: the network's, mixed with the buffer's words while
        inside an identifier, then with the match model's prediction."""
        p = self.stepper.probs(state, temperature)
        p[self.banned] = 0.0
        total = p.sum()
        p = p / total if total > 0 else p
        if hints is None:
            return p
        p = self._mix_words(p, hints.words, word)
        pred, length = hints.match(generated)
        if pred > 0 and pred not in self.banned:
            p = mix_match(p, pred, length, self.match_weights)[0]
        return p

    def _mix_words(self, p, words, word):
        votes = words.next_chars(word) if words is not None and word else None
        if not votes:
            return p
        total_votes = sum(votes.values())
        from_words = np.zeros_like(p)
        for char, weight in votes.items():
            if char is None:  # the word ends here: what follows is the model's call
                follow = p * self.not_word_char
                if follow.sum() > 0:
                    from_words += weight / total_votes * follow / follow.sum()
            elif char in self.vocab.index:
                from_words[self.vocab.index[char]] += weight / total_votes
        if from_words.sum() == 0:
            return p
        from_words /= from_words.sum()
        return (1 - self.word_weight) * p + self.word_weight * from_words

    def _decode(self, state, rules, min_prob, hints=None, word="", temperature=0.0, rng=None):
        """One completion, a character at a time: greedy at temperature 0, else sampled."""
        out, probs, ids = [], [], []
        while True:
            p = self._distribution(state, hints, word, ids)
            if temperature == 0:
                next_id = int(np.argmax(p))
            else:
                q = self._distribution(state, hints, word, ids, temperature)
                next_id = int(rng.choice(len(q), p=q))
            if min_prob is not None and p[next_id] < min_prob:
                return rules.finish(out, probs, "min_prob")
            char = self.vocab.chars[next_id - 1]
            out.append(char)
            probs.append(float(p[next_id]))
            reason = rules.check(out)
            if reason:
                return rules.finish(out, probs, reason)
            word = _extend_word(word, char)
            ids.append(next_id)
            state = self.stepper.step(next_id, state)

    def _beam(self, state, rules, min_prob, n, hints=None, word="", width=None):
        """Beam search over characters: the `width` most probable partial completions go on."""
        width = width or max(2 * n, 4)
        beams = [([], [], 0.0, state, word)]  # chars, probs, log prob, state, identifier so far
        finished = []
        # Empty endings (the line ends right here) do not fill the beam: keep looking for n real ones.
        while beams and len({f[0] for f in finished if f[0]}) < n:
            candidates = []
            for chars, probs, logp, st, wd in beams:
                p = self._distribution(st, hints, wd, [self.vocab.index[c] for c in chars])
                for next_id in np.argsort(p)[::-1][:width]:
                    pr = float(p[next_id])
                    if pr <= 0:
                        break
                    if min_prob is not None and pr < min_prob:
                        finished.append(rules.finish(chars, probs, "min_prob") + (logp,))
                        break
                    char = self.vocab.chars[next_id - 1]
                    candidates.append((chars + [char], probs + [pr], logp + np.log(pr), st, int(next_id),
                                       _extend_word(wd, char)))
            candidates.sort(key=lambda c: -c[2])
            beams = []
            for chars, probs, logp, st, next_id, wd in candidates[:width]:
                reason = rules.check(chars)
                if reason:
                    finished.append(rules.finish(chars, probs, reason) + (logp,))
                else:
                    beams.append((chars, probs, logp, self.stepper.step(next_id, st), wd))
        finished.sort(key=lambda f: -f[3])
        return [f[:3] for f in finished]


def _extend_word(word, char):
    """The identifier being written after char is added to one that was `word`."""
    if char == "_" or char.isascii() and char.isalpha():
        return word + char
    if char.isascii() and char.isdigit() and word:
        return word + char
    return ""


def _mean_logprob(probs):
    return float(np.mean(np.log(np.maximum(probs, 1e-12)))) if len(probs) else -1e9


class StopRules:
    """Where a completion ends: the stop mode, max_chars, the suffix, and the loop guard."""

    def __init__(self, context, suffix, stop, max_chars):
        self.stop, self.max_chars = stop, max_chars
        line = context[context.rfind("\n") + 1:]
        self.indent = len(line) - len(line.lstrip(" "))
        self.line_so_far = line
        # Text after the cursor on the same line (an editor's auto-closed bracket, say): the
        # completion stops where it would type it again.
        self.rest_of_line = (suffix or "").split("\n", 1)[0].strip()

    def check(self, chars):
        """A reason to stop after the last character, or None."""
        text = "".join(chars)
        if self.stop == "line" and text.endswith("\n"):
            return "line"
        if self.stop == "block" and self._block_ended(text):
            return "block"
        if self.rest_of_line and text.endswith(self.rest_of_line) and "\n" not in text:
            return "suffix"
        if _looping(text):
            return "repeat"
        if len(chars) >= self.max_chars:
            return "max_chars"
        return None

    def _block_ended(self, text):
        lines = text.split("\n")
        if len(lines) < 2:
            return False
        last = lines[-1]
        if not last.strip():
            return len(lines) > 3 and all(not l.strip() for l in lines[-3:])  # two blank lines
        first = self.line_so_far + lines[0]
        opens_suite = first.rstrip().endswith(":")
        indent = len(last) - len(last.lstrip(" "))
        return indent < self.indent or (opens_suite and indent <= self.indent) or (
            not opens_suite and indent <= self.indent and len(lines) > 1 and self.indent == 0)

    def finish(self, chars, probs, reason):
        """Trim what the stop rule saw beyond the completion itself."""
        text = "".join(chars)
        if reason == "line":
            text = text[:-1]
        elif reason == "block":
            text = text[:text.rfind("\n")]
        elif reason == "suffix":
            text = text[: len(text) - len(self.rest_of_line)]
        elif reason == "repeat":
            text = _trim_repeat(text)
        if self.stop == "block" or reason in ("max_chars", "min_prob"):
            # A completion never ends on dangling whitespace or half an indentation.
            text = text.rstrip(" ") if "\n" not in text else text.rstrip()
        if not text.strip():
            text = ""
        return text, probs[:len(text)], reason


def _repeated_tail(text, min_span=12):
    """(unit length, repetitions) when the text ends in one unit repeated 3+ times over
    min_span+ characters ('foo(foo(foo(', ')))))))))))))'), else None."""
    n = len(text)
    for unit in range(1, min(40, n // 3) + 1):
        reps = 1
        while (reps + 1) * unit <= n and text[n - (reps + 1) * unit:n - reps * unit] == text[n - unit:]:
            reps += 1
        if reps >= 3 and reps * unit >= min_span:
            return unit, reps
    return None


def _same_line_thrice(text):
    lines = text.split("\n")
    return len(lines) >= 4 and lines[-2].strip() != "" and lines[-2] == lines[-3] == lines[-4]


def _looping(text):
    """True when the completion is going round in circles (the failure the paper saw)."""
    if text.endswith(" " * 16) and not text.rstrip(" ").endswith("\n"):
        return True  # a run of spaces mid-line
    return _repeated_tail(text) is not None or _same_line_thrice(text)


def _trim_repeat(text):
    """Keep the first occurrence of the repeated unit, drop the echoes."""
    tail = _repeated_tail(text)
    if tail:
        unit, reps = tail
        return text[: len(text) - (reps - 1) * unit]
    if _same_line_thrice(text):
        return "\n".join(text.split("\n")[:-3])
    return text


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m model.sample", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default=os.path.join(os.path.dirname(__file__), "pretrained", "python"))
    p.add_argument("--prime", default="", help="the buffer before the cursor ('\\n' and '\\t' escapes work)")
    p.add_argument("--prime-file", help="read the buffer from this file instead")
    p.add_argument("--chars", type=int, default=80, help="max characters to generate")
    p.add_argument("--temperature", type=float, default=0.0)
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--stop", choices=["line", "block", "none"], default="line")
    p.add_argument("--n", type=int, default=1, help="alternatives")
    p.add_argument("--min-prob", type=float, default=None, help="stop where the model is less sure than this")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = p.parse_args(argv)
    try:
        completer = Completer.load(args.model)
    except ModelDirError as err:
        raise SystemExit(f"error: {err}")
    if args.prime_file:
        with open(args.prime_file, encoding="utf-8", errors="replace") as f:
            prime = f.read()
    else:
        prime = args.prime.encode("utf-8", "surrogatepass").decode("unicode_escape") if "\\" in args.prime else args.prime
    t0 = time.perf_counter()
    result = completer.complete(prime, max_chars=args.chars, stop=args.stop, temperature=args.temperature,
                                n=args.n, min_prob=args.min_prob, seed=args.seed)
    elapsed_ms = (time.perf_counter() - t0) * 1000
    if args.json:
        print(json.dumps({"completion": result.text, "alternatives": result.alternatives,
                          "probs": [round(p, 4) for p in result.probs], "stop_reason": result.stop_reason,
                          "elapsed_ms": round(elapsed_ms, 2)}))
    else:
        sys.stdout.write(prime + "\x1b[1m" + result.text + "\x1b[0m\n" if sys.stdout.isatty() else prime + result.text + "\n")
        for alt in result.alternatives[1:]:
            print(f"  alt: {alt!r}")
        print(f"[{result.stop_reason}, {elapsed_ms:.1f} ms]", file=sys.stderr)


if __name__ == "__main__":
    main()
