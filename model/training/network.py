"""The network: Embedding -> N stacked LSTMs -> Dense over the vocabulary (logits), and THE
hyperparameter defaults (model.training.train's, hypertune's for what a space does not search).

The LSTMs keep Keras's defaults (tanh, sigmoid, no recurrent dropout, not unrolled), which is
what keeps them on the cuDNN kernel on a GPU; dropout sits between the layers instead.
TensorFlow is imported inside the functions, so reading DEFAULTS costs nothing.
"""
DEFAULTS = {
    "layers": 2,
    "units": 256,
    "embedding_dim": 64,
    "dropout": 0.1,
    "seq_len": 128,           # window for truncated backprop (the state carries across windows)
    "batch_size": 64,
    "learning_rate": 2e-3,
}

def quiet_tensorflow():
    """Import TensorFlow and Keras with their start-up chatter kept off the terminal: the
    oneDNN and "could not find cuda drivers" lines their C++ side writes to stderr before its
    logging starts, and, on a machine without an NVIDIA driver, the cuInit error. What they
    wrote is shown if the import fails. A command calls this first, before anything imports
    TensorFlow."""
    import os
    import sys
    import tempfile
    import warnings

    # Keras's note that shuffle=True is ignored for a tf.data.Dataset: ours are streams on purpose.
    warnings.filterwarnings("ignore", message=".*shuffle=True.*", category=UserWarning)
    if not os.path.exists("/proc/driver/nvidia"):
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # level 3 hides the cuInit error
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as chatter:
        os.dup2(chatter.fileno(), 2)
        try:
            import keras  # noqa: F401
            import tensorflow  # noqa: F401
        except BaseException:
            os.dup2(saved, 2)
            chatter.seek(0)
            sys.stderr.write(chatter.read().decode("utf-8", "replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


MIN_SEQ_LEN = 32        # the shortest window a fitted run uses
MIN_STREAMS = 8         # below this many streams, a fitted run shortens its window first
MIN_PASS_STEPS = 16     # a fitted run has at least this many steps a pass over the train split


def fit_shape(train_chars, val_chars, batch_size=None, seq_len=None, prefer=None):
    """(batch_size, seq_len) for splits this long. A value given is kept (ValueError, naming
    the split and the fix, when a split cannot hold it); one not given starts at `prefer`
    (DEFAULTS' batch_size and seq_len) and shrinks to fit: fewer streams, so that a pass has at
    least MIN_PASS_STEPS steps and the val split a window a stream, then shorter windows, down to
    MIN_SEQ_LEN."""
    prefer_batch, prefer_seq = prefer or (DEFAULTS["batch_size"], DEFAULTS["seq_len"])
    seq = seq_len or prefer_seq
    while True:
        batch = batch_size or max(1, min(prefer_batch, (train_chars - 1) // (seq * MIN_PASS_STEPS),
                                         (val_chars - 1) // seq))
        if batch_size or seq_len or batch >= MIN_STREAMS or seq // 2 < MIN_SEQ_LEN:
            break
        seq //= 2
    fix = ("lower --batch-size or --seq-len, or" if batch_size or seq_len else "") + \
        " build the corpus with more files (python -m model.data.corpus)"
    for name, chars, extra in (("train", train_chars, ""), ("val", val_chars, " or a larger --val")):
        if (chars - 1) // batch < seq:
            raise ValueError(f"the {name} split has {chars:,} chars, too few for {batch} streams x {seq}-char "
                             f"windows (it needs {batch * seq + 1:,}); {fix.strip()}{extra}")
    return batch, seq


def build_model(vocab_size, embedding_dim=DEFAULTS["embedding_dim"], layers=DEFAULTS["layers"],
                units=DEFAULTS["units"], dropout=DEFAULTS["dropout"], batch_size=None, stateful=False):
    """Stateful training carries the LSTM state from one batch to the next (each batch row is a
    long contiguous stream), so the model learns to use context far longer than a window,
    like the whole buffer the Completer feeds it."""
    import keras

    inputs = keras.Input(batch_shape=(batch_size, None), dtype="int32", name="chars")
    x = keras.layers.Embedding(vocab_size, embedding_dim, name="embedding")(inputs)
    for i in range(layers):
        x = keras.layers.LSTM(units, return_sequences=True, stateful=stateful, name=f"lstm_{i}")(x)
        if dropout:
            x = keras.layers.Dropout(dropout, name=f"dropout_{i}")(x)
    # float32 logits even under mixed precision: softmax/cross-entropy in half precision is lossy.
    logits = keras.layers.Dense(vocab_size, dtype="float32", name="logits")(x)
    return keras.Model(inputs, logits, name="char_lstm")


def build_from(net, **kwargs):
    """build_model for a meta.json "network" (its shape; dropout included, as training had it)."""
    return build_model(**{k: net[k] for k in ("vocab_size", "embedding_dim", "layers", "units", "dropout")},
                       **kwargs)


def compile_model(model, learning_rate=DEFAULTS["learning_rate"], clipnorm=1.0):
    import keras

    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate, clipnorm=clipnorm),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    )
    return model


def distribution_strategy():
    """MirroredStrategy across the GPUs of one machine when there are several, else the default."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    return tf.distribute.MirroredStrategy() if len(gpus) > 1 else tf.distribute.get_strategy()


def set_mixed_precision(enabled):
    """Mixed precision only pays on a GPU with tensor cores; on a CPU it is slower, so refuse."""
    import keras
    import tensorflow as tf

    if enabled and not tf.config.list_physical_devices("GPU"):
        raise ValueError("mixed precision needs a GPU (none is visible)")
    keras.mixed_precision.set_global_policy("mixed_float16" if enabled else "float32")


def reset_lstm_states(model):
    """Zero a stateful model's LSTM state (a new pass over the streams starts)."""
    for layer in model.layers:
        if getattr(layer, "stateful", False):
            layer.reset_state()
