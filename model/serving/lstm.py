"""The LSTM stepped by hand in numpy and numba, one character at a time, its state carried:
what the Completer runs instead of TensorFlow (a parity test holds it to the Keras model).
"""
import hashlib
import threading

import numpy as np
from numba import njit
from threadpoolctl import ThreadpoolController

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


@njit(fastmath=True, nogil=True, cache=True)
def rows_times(x, w, out):
    """out = x @ w for a few rows x, in one thread (BLAS would start its threads for two rows,
    and they fight the server's): each weight row is read once for all of x's rows."""
    out[:] = 0
    for i in range(w.shape[0]):
        row = w[i]
        for b in range(x.shape[0]):
            xi = x[b, i]
            acc = out[b]
            for j in range(row.shape[0]):
                acc[j] += xi * row[j]


@njit(fastmath=True, nogil=True, cache=True)
def lstm_step_rows(proj, recurrent, h, c):
    """One LSTM step for each row of proj (B x 4u, the input projection + bias) from the states
    in the rows of h and c (B x u), updated in place. Sigmoid columns come pre-halved."""
    rows, width = proj.shape
    units = width // 4
    half = np.float32(0.5)
    z = proj.copy()
    for i in range(units):
        row = recurrent[i]
        for b in range(rows):
            hi = h[b, i]
            zb = z[b]
            for j in range(width):
                zb[j] += hi * row[j]
    for b in range(rows):
        for j in range(width):
            z[b, j] = _tanh(z[b, j])
        for j in range(units):
            cj = (half * z[b, units + j] + half) * c[b, j] + (half * z[b, j] + half) * z[b, 2 * units + j]
            c[b, j] = cj
            h[b, j] = (half * z[b, 3 * units + j] + half) * _tanh(cj)


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


def one_blas_thread():
    """BLAS kept to one thread for a while: on small products its threads cost more than they
    save, and they fight the server's and the pipeline's for the same cores."""
    return _blas_threads().limit(limits=1, user_api="blas")


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

    def digest(self):
        """16 bytes that name these weights: the state after given ids is the same wherever the
        digest is (how model.serving.cache.SharedStates tells models apart)."""
        h = hashlib.blake2b(digest_size=16)
        for array in (self.input_table, *(w for layer in self.lstms for w in layer)):
            h.update(np.ascontiguousarray(array).tobytes())
        return h.digest()

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
            with one_blas_thread():
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
        return softmax(self.logits(state), temperature)

    def log_probs(self, outputs):
        """Log-probabilities of the next character from the last layer's outputs (rows)."""
        logits = outputs @ self.dense_kernel + self.dense_bias
        logits = logits - logits.max(axis=1, keepdims=True)
        return logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))

    def step(self, char_id, state):
        return self.run(np.array([char_id], dtype=np.int32), state)

    def step_many(self, char_ids, states):
        """One step from each of several states at once, each weight read once for all of them
        (a step's cost is reading the weights, so scoring many candidate names costs about as
        many steps as the longest name)."""
        x = self.input_table[np.asarray(char_ids, dtype=np.int32)]
        out = []
        for layer, (kernel, recurrent, bias) in enumerate(self.lstms):
            h = np.stack([s[layer][0] for s in states])
            c = np.stack([s[layer][1] for s in states])
            if layer > 0:
                proj = np.empty((len(states), kernel.shape[1]), np.float32)
                rows_times(x, kernel, proj)
                x = proj + bias
            lstm_step_rows(x, recurrent, h, c)
            out.append((h, c))
            x = h
        return [[(h[i], c[i]) for h, c in out] for i in range(len(states))]

    def logits_many(self, states):
        h = np.stack([s[-1][0] for s in states])
        out = np.empty((len(states), self.vocab_size), np.float32)
        rows_times(h, self.dense_kernel, out)
        return out + self.dense_bias


def softmax(logits, temperature=1.0):
    z = logits.astype(np.float64) / max(temperature, 1e-6)
    z -= z.max()
    p = np.exp(z)
    return p / p.sum()


def generate(stepper, ids, chars=200, temperature=0.8, seed=None):
    """Plain sampling after the ids (greedy at temperature 0): the ids generated. For watching a
    model learn."""
    rng = np.random.default_rng(seed)
    state = stepper.run(ids, stepper.zero_state())
    out = []
    for _ in range(chars):
        p = stepper.probs(state, temperature) if temperature > 0 else None
        next_id = int(np.argmax(stepper.logits(state))) if p is None else int(rng.choice(len(p), p=p))
        out.append(next_id)
        state = stepper.step(next_id, state)
    return out
