"""Serving: the Completer and what it runs (stepper, caches, hints, policy, stop rules, model dirs).
Imports only model.text: no TensorFlow, no training, data or measurement code."""
from model.serving.completer import Completer

__all__ = ["Completer"]
