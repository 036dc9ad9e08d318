"""The Completer's memory of LSTM states, so the next Tab in a buffer runs only what changed:
the state at every line start (and every CHUNK characters) of recent contexts, keyed by a hash
of the context up to there, and the states along the end of the last few requests."""
import hashlib
import threading
from collections import OrderedDict, deque

import numpy as np

CHUNK = 64  # the state is cached at every line start and at least every CHUNK characters


CACHE_ENTRIES = 4096  # states kept per model: ~2 KB each for a 2x256 network


class StateCache:
    """LRU map: hash of a context prefix (up to a cache point) -> LSTM state after it."""

    def __init__(self, max_entries=CACHE_ENTRIES):
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

    def count(self, hit):
        """One request's lookup: did any cached state spare it running from the start?"""
        with self.lock:
            if hit:
                self.hits += 1
            else:
                self.misses += 1


class RecentStates:
    """The states at each of the last `tail` characters of the last few requests: the next Tab
    after typing a few characters runs just those, and after backspacing over a few, only what
    differs."""

    def __init__(self, requests=8, tail=128):
        self.tail = tail
        self.entries = deque(maxlen=requests)  # (ids, first, h, c): states after ids[:first + 1], ...
        self.lock = threading.Lock()

    def resume(self, stepper, ids, start, state):
        """(start, state) moved on to the longest prefix of ids a recent request's tail holds, if
        that is further than `start`."""
        with self.lock:
            entries = list(self.entries)
        for end_ids, first, tail_h, tail_c in reversed(entries):
            n = min(len(end_ids), len(ids))
            differ = np.flatnonzero(end_ids[:n] != ids[:n])
            common = int(differ[0]) if len(differ) else n
            if common > max(start, first):  # the state after ids[:common] is in this tail
                start, state = common, stepper.state_at(tail_h, tail_c, common - first)
        return start, state

    def add(self, ids, start, hs, cs):
        """Keep the states along the end of a run over ids[start:] (hs, cs from Stepper.run_all)."""
        tail = min(len(ids) - start, self.tail)
        if tail:
            tail_h, tail_c = [h[len(h) - tail:].copy() for h in hs], [c[len(c) - tail:].copy() for c in cs]
            with self.lock:
                self.entries.append((ids.copy(), len(ids) - tail, tail_h, tail_c))

    def clear(self):
        with self.lock:
            self.entries.clear()


def cache_points(ids, newline_id):
    """Where the state is kept: after every newline (an edit on a line reruns only that line) and
    every CHUNK characters (so long lines are covered too), in order."""
    points = set(range(CHUNK, len(ids) + 1, CHUNK))
    if newline_id is not None:
        points.update((np.flatnonzero(ids == newline_id) + 1).tolist())
    return sorted(points)


def prefix_keys(ids, points):
    """Hash of ids[:p] for each of the points, incrementally (O(n) in all)."""
    h = hashlib.blake2b(digest_size=16)
    keys, done = [], 0
    for p in points:
        h.update(ids[done:p].tobytes())
        done = p
        keys.append(h.digest())
    return keys
