"""Hyperparameter sweeps over the character LSTM: python -m hypertune (see hypertune/__main__.py)."""
