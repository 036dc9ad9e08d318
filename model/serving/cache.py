"""The Completer's memory of LSTM states, so the next Tab in a buffer runs only what changed:
the state at every line start (and every CHUNK characters) of recent contexts, keyed by a hash
of the context up to there, and the states along the end of the last few requests; and, under a
server with several worker processes, the same states shared between them (SharedStates), so a
buffer one worker has read is not read again from the start by the next."""
import hashlib
import mmap
import struct
import threading
import zlib
from collections import OrderedDict, deque

import numpy as np

CHUNK = 64  # the state is cached at every line start and at least every CHUNK characters


CACHE_ENTRIES = 4096  # states kept per model: ~2 KB each for a 2x256 network


class SharedStates:
    """States in anonymous shared memory, mapped before the server forks its workers, so that
    every worker reads what any of them stored: gunicorn hands a user's Tabs to whichever worker
    accepts the connection, and without it each worker reads each buffer from the start once.

    A table of `slots` slots, each one state: the slot is chosen by the key (a new state evicts
    the one there), and holds the key, the payload's length and a CRC-32 of both. There are no
    locks: a slot two processes write at once, or one read while it is written, fails its CRC
    and reads as absent (a miss costs running the characters again, never a wrong state)."""

    HEADER = struct.Struct("<16sII")  # key, payload bytes, CRC-32 of key and payload

    def __init__(self, megabytes=64, payload_bytes=4096):
        self.payload_bytes = payload_bytes  # a 2x256 network's state: 2 layers x (h, c) x 256 float32
        self.slot_bytes = self.HEADER.size + payload_bytes
        self.slots = max(1, int(megabytes * 2**20) // self.slot_bytes)
        self.memory = mmap.mmap(-1, self.slots * self.slot_bytes)  # MAP_SHARED | MAP_ANONYMOUS
        self.hits = 0

    def _offset(self, key):
        return int.from_bytes(key[:8], "little") % self.slots * self.slot_bytes

    def put(self, key, payload):
        """Store payload (bytes) under a 16-byte key; one larger than a slot is not stored."""
        if len(payload) > self.payload_bytes:
            return
        at = self._offset(key)
        self.memory[at + self.HEADER.size:at + self.HEADER.size + len(payload)] = payload
        self.HEADER.pack_into(self.memory, at, key, len(payload), zlib.crc32(payload, zlib.crc32(key)))

    def get(self, key):
        """The payload stored under key, or None (never stored, evicted, or torn by a write)."""
        at = self._offset(key)
        slot = self.memory[at:at + self.slot_bytes]  # one copy: what is checked is what is returned
        stored, size, crc = self.HEADER.unpack_from(slot)
        if stored != key or size > self.payload_bytes:
            return None
        payload = slot[self.HEADER.size:self.HEADER.size + size]
        return payload if zlib.crc32(payload, zlib.crc32(key)) == crc else None


class LRU:
    """A map that keeps its max_entries most recently used entries, safe across threads."""

    def __init__(self, max_entries):
        self.max_entries = max_entries
        self.entries = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key):
        with self.lock:
            value = self.entries.get(key)
            if value is not None:
                self.entries.move_to_end(key)
            return value

    def put(self, key, value):
        with self.lock:
            self.entries[key] = value
            self.entries.move_to_end(key)
            while len(self.entries) > self.max_entries:
                self.entries.popitem(last=False)


class StateCache(LRU):
    """LRU map: hash of a context prefix (up to a cache point) -> LSTM state after it; backed,
    when given one, by SharedStates (its keys made the model's own with `tag`, a digest of the
    network, since every model of every worker stores into the one table; `units`: its layers'
    widths, which the shared states are read back with)."""

    def __init__(self, max_entries=CACHE_ENTRIES, shared=None, tag=b"", units=()):
        super().__init__(max_entries)
        self.hits = self.misses = 0
        self.shared, self.tag, self.units = shared, tag, tuple(units)
        self.state_bytes = 8 * sum(self.units)  # pack_state's size: (h, c) float32 per layer
        if shared is not None and self.state_bytes > shared.payload_bytes:
            self.shared = None  # a state larger than a slot: this model keeps its states to itself

    def _shared_key(self, key):
        return hashlib.blake2b(self.tag + key, digest_size=16).digest()

    def get(self, key):
        state = super().get(key)
        if state is not None or self.shared is None:
            return state
        payload = self.shared.get(self._shared_key(key))
        if payload is None or len(payload) != self.state_bytes:
            return None
        state = unpack_state(payload, self.units)
        self.shared.hits += 1
        super().put(key, state)
        return state

    def put(self, key, state):
        super().put(key, state)
        if self.shared is not None:
            self.shared.put(self._shared_key(key), pack_state(state))

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


def pack_state(state):
    """An LSTM state [(h, c) per layer] as bytes: every layer's h then c, float32."""
    return b"".join(np.asarray(a, np.float32).tobytes() for pair in state for a in pair)


def unpack_state(payload, units):
    """pack_state's bytes back as [(h, c) per layer], for layers of these widths."""
    flat = np.frombuffer(payload, np.float32)
    state, at = [], 0
    for u in units:
        state.append((flat[at:at + u].copy(), flat[at + u:at + 2 * u].copy()))
        at += 2 * u
    if at != len(flat):
        raise ValueError(f"a state of {len(flat)} floats is not one of layers {units}")
    return state


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
