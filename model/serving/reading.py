"""Reading a request's context: the LSTM state after it, running only what the caches do not
already know, and, for a model that adapts its output layer to the buffer (model.serving.adapt),
the output layer adapted over the context."""
import numpy as np

from model.serving.adapt import HEAD_ENTRIES, Head, adapt
from model.serving.cache import LRU, cache_points, prefix_keys
from model.serving.lstm import one_blas_thread

HEADS_KEPT = 8  # a request's last cache points whose adapted heads are kept for the next Tab


class ContextReader:
    """cache: StateCache (states at every line start and CHUNK characters of recent contexts);
    recent: RecentStates (the states along the recent requests' ends); rate: the adaptation's
    (None: the network's own output layer, as trained)."""

    def __init__(self, stepper, newline_id, cache, recent, rate=None):
        self.stepper, self.newline_id, self.cache, self.recent = stepper, newline_id, cache, recent
        self.rate = rate
        self.heads = LRU(HEAD_ENTRIES) if rate is not None else None  # cache key -> the head adapted up to there
        self.base = Head(stepper.dense_kernel, stepper.dense_bias)

    def read(self, ids):
        """(the state after ids, how many of them were run, the adapted Head or None). An edit on
        a line reruns only from its start. Adapting, a state is resumed only where the head
        adapted up to the same point is kept too (the recent requests' tails lie between points),
        so the head is the one a run from the start would give."""
        points = cache_points(ids, self.newline_id)
        keys = prefix_keys(ids, points)
        start, state, head = 0, None, self.base
        for point, key in zip(reversed(points), reversed(keys)):
            # The head first: an in-process dict of a few dozen, where a state may come from shared memory.
            head = self.base if self.heads is None else self.heads.get(key)
            state = self.cache.get(key) if head is not None else None
            if state is not None:
                start = point
                break
        if self.heads is None:
            start, state = self.recent.resume(self.stepper, ids, start, state)
        self.cache.count(state is not None)
        if state is None:
            start, state, head = 0, self.stepper.zero_state(), self.base
        resumed_top = state[-1][0]
        # One pass over the new characters (long ones pipelined), keeping the state at each
        # cache point for the cache, and along the end for the next request.
        state, hs, cs = self.stepper.run_all(ids[start:], state)
        for point, key in zip(points, keys):
            if point > start:
                self.cache.put(key, self.stepper.state_at(hs, cs, point - start))
        if self.heads is None:  # adapting, a request resumes at cache points only (above), never from a tail
            self.recent.add(ids, start, hs, cs)
            return state, len(ids) - start, None
        return state, len(ids) - start, self._adapt(ids, start, resumed_top, hs[-1], head, points, keys)

    def _adapt(self, ids, start, resumed_top, top, head, points, keys):
        """The head at the end of ids, stepped from `head` (adapted up to `start`) through the
        segments after it, the last one ending at the cursor; keeps the heads at the last points."""
        # outputs[k] is the top layer's output before ids[first + k]; the file start is never predicted.
        first = max(start, 1)
        outputs = top[:-1] if start == 0 else np.vstack([resumed_top[None], top[:-1]])
        new = [(point, key) for point, key in zip(points, keys) if point > first]
        with one_blas_thread():
            heads = adapt(head, outputs, ids[first:], [point - first for point, _ in new] + [len(ids) - first], self.rate)
        for (_, key), kept in list(zip(new, heads))[-HEADS_KEPT:]:
            self.heads.put(key, kept)
        return heads[-1]

    def adapted_log_probs(self, ids, outputs, context_chars):
        """Log-probabilities of ids[1:] (rows; outputs[k] the top layer's output before ids[k + 1])
        under the head adapted as a request would adapt it, for measuring the adapted network on a
        whole document: the head starts afresh every context_chars characters, so it has never
        read more than a request's context (a request's has read all of its own: this is the
        lower bound)."""
        ends = [point - 1 for point in cache_points(ids, self.newline_id)]
        rows = []
        for block in range(0, len(outputs), context_chars):
            stop = min(block + context_chars, len(outputs))
            inside = [end - block for end in ends if block < end < stop] + [stop - block]
            rows.append(adapt(self.base, outputs[block:stop], ids[block + 1:stop + 1], inside, self.rate, trace=True)[1])
        return np.vstack(rows) if rows else np.zeros((0, len(self.base.bias)), np.float32)
