"""The network's output layer adapted to the buffer it reads (dynamic evaluation, Krause et al.
2018, on the last layer only).

After each segment of the context the output layer (kernel and bias) takes one gradient step on
the cross-entropy of that segment's characters, so what this buffer repeats (its names, its
idioms) grows likelier as the buffer is read. Only the output layer: its gradient needs just the
top LSTM layer's outputs, which the pass over the buffer computes anyway, so the adaptation costs
two small matrix products a segment, never a backward pass through the LSTMs.

Segments end at the state cache's points (model.serving.cache.cache_points: every line start and
every CHUNK characters), so the head at a point depends on the context up to it alone: a request
resumed from a cached (state, head) pair gets the head a run from the start would have, and the
completions are the same warm or cold.
"""
import numpy as np

from model.serving.cache import CHUNK

HEAD_ENTRIES = 64  # heads kept per model: ~100 KB each (a 256-unit layer over 103 characters)


class Head:
    """An output layer: logits = outputs @ kernel + bias."""

    def __init__(self, kernel, bias):
        self.kernel, self.bias = kernel, bias

    def logits(self, outputs):
        return outputs @ self.kernel + self.bias

    def log_probs(self, outputs):
        z = self.logits(outputs)
        z = z - z.max(axis=-1, keepdims=True)
        return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def step(head, outputs, targets, rate):
    """The head after one gradient step on the characters `targets` given the top layer's
    `outputs` (rows) before each: the summed cross-entropy's gradient at rate/CHUNK a character
    (a long segment moves the head by its characters' gradients, a short one by its few)."""
    g = outputs @ head.kernel
    g += head.bias
    g -= g.max(axis=1, keepdims=True)
    np.exp(g, out=g)
    g /= g.sum(axis=1, keepdims=True)
    g[np.arange(len(targets)), targets] -= 1.0  # d(cross-entropy)/d(logits): softmax less one-hot
    g *= np.float32(rate / CHUNK)
    return Head(head.kernel - outputs.T @ g, head.bias - g.sum(axis=0))


def adapt(head, outputs, targets, ends, rate, trace=False):
    """The head stepped through consecutive segments: outputs[i] is the top layer's output before
    targets[i]; `ends` the segments' ends (increasing offsets into them; characters after the last
    end take no step). Returns the heads after each segment, and with trace=True also each
    character's log-probabilities under the head before its segment's step (what a measurement
    of the adapted network reads)."""
    heads, rows, start = [], [], 0
    for end in ends:
        if end > start:
            if trace:
                rows.append(head.log_probs(outputs[start:end]))
            head = step(head, outputs[start:end], targets[start:end], rate)
        heads.append(head)
        start = max(start, end)
    if trace:
        if start < len(targets):
            rows.append(head.log_probs(outputs[start:]))
        return heads, (np.vstack(rows) if rows else np.zeros((0, len(head.bias)), np.float32))
    return heads
