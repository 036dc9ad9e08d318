import hashlib
import os

import numpy as np
import pytest

from model.serving.cache import LRU, SharedStates, StateCache, pack_state, unpack_state


def key(name):
    return hashlib.blake2b(name.encode(), digest_size=16).digest()


def state(seed, units=(8, 8)):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal(u).astype(np.float32), rng.standard_normal(u).astype(np.float32)) for u in units]


def same(a, b):
    return all(np.array_equal(x, y) for pa, pb in zip(a, b) for x, y in zip(pa, pb)) and len(a) == len(b)


def test_a_state_packs_to_bytes_and_back():
    s = state(1, (8, 4))
    assert same(unpack_state(pack_state(s), (8, 4)), s)
    with pytest.raises(ValueError, match="not one of layers"):
        unpack_state(pack_state(s), (8, 8))


def test_shared_states_store_and_miss():
    shared = SharedStates(megabytes=0.01, payload_bytes=256)
    assert shared.get(key("a")) is None
    shared.put(key("a"), b"x" * 100)
    assert shared.get(key("a")) == b"x" * 100 and shared.get(key("b")) is None
    shared.put(key("big"), b"y" * 257)  # larger than a slot: not stored
    assert shared.get(key("big")) is None


def test_a_new_state_evicts_the_one_in_its_slot():
    shared = SharedStates(megabytes=1 / 2**20 * (SharedStates.HEADER.size + 16), payload_bytes=16)  # one slot
    assert shared.slots == 1
    shared.put(key("a"), b"a" * 16)
    shared.put(key("b"), b"b" * 16)
    assert shared.get(key("a")) is None and shared.get(key("b")) == b"b" * 16


def test_a_torn_slot_reads_as_absent():
    shared = SharedStates(megabytes=0.01, payload_bytes=64)
    shared.put(key("a"), b"a" * 64)
    at = shared._offset(key("a")) + SharedStates.HEADER.size + 10
    shared.memory[at:at + 1] = b"z"  # another process's write half done
    assert shared.get(key("a")) is None


def test_a_forked_child_reads_what_the_parent_stored_and_the_parent_what_it_stored():
    shared = SharedStates(megabytes=0.1, payload_bytes=64)
    shared.put(key("parent"), b"p" * 64)
    pid = os.fork()
    if pid == 0:  # the child: as a gunicorn worker forked after the table was made
        ok = shared.get(key("parent")) == b"p" * 64
        shared.put(key("child"), b"c" * 32)
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert shared.get(key("child")) == b"c" * 32


def test_state_caches_share_states_by_model_and_never_across_models():
    shared = SharedStates(megabytes=0.1, payload_bytes=64)
    first, second = StateCache(shared=shared, tag=b"model-1", units=(8,)), StateCache(shared=shared, tag=b"model-1", units=(8,))
    other = StateCache(shared=shared, tag=b"model-2", units=(8,))
    s = state(3, (8,))
    first.put(key("prefix"), s)
    assert same(second.get(key("prefix")), s) and shared.hits == 1
    assert key("prefix") in second.entries  # kept locally from then on
    assert other.get(key("prefix")) is None
    # a model whose state is larger than a slot keeps its states to itself
    wide = StateCache(shared=shared, tag=b"wide", units=(16,))
    assert wide.shared is None


def test_lru_keeps_the_most_recent():
    cache = LRU(max_entries=2)
    values = [object() for _ in range(3)]
    for key, value in zip((b"a", b"b", b"c"), values):
        cache.put(key, value)
    assert cache.get(b"a") is None and cache.get(b"b") is values[1] and cache.get(b"c") is values[2]
