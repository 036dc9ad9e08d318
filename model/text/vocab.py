"""Characters <-> ids. Id 0 is the unknown character: anything the corpus did not show often
enough maps there, so no input can make the model fail."""
import json
from collections import Counter

import numpy as np

UNKNOWN_ID = 0
UNKNOWN_CHAR = "\ufffd"  # what an unknown id decodes to


class Vocab:
    def __init__(self, chars):
        if len(set(chars)) != len(chars):
            raise ValueError("vocab has repeated characters")
        self.chars = list(chars)  # id i+1 is chars[i]
        self.index = {ch: i + 1 for i, ch in enumerate(self.chars)}
        # A lookup table over code points makes encoding a 20 MB split a single numpy op.
        self._table = np.zeros(max((ord(c) for c in self.chars), default=0) + 1, dtype=np.int32)
        for ch, i in self.index.items():
            self._table[ord(ch)] = i

    @classmethod
    def from_text(cls, text, min_count=20, max_size=250):
        counts = Counter(text)
        common = [ch for ch, n in counts.most_common(max_size) if n >= min_count]
        return cls(sorted(common))

    def __len__(self):
        return len(self.chars) + 1

    def encode(self, text):
        if not text:
            return np.zeros(0, dtype=np.int32)
        # surrogatepass: a lone surrogate (JSON allows "\ud800") becomes an unknown id, not an error.
        codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        ids = np.zeros(len(codes), dtype=np.int32)
        known = codes < len(self._table)
        ids[known] = self._table[codes[known]]
        return ids

    def decode(self, ids):
        return "".join(self.chars[i - 1] if 0 < i <= len(self.chars) else UNKNOWN_CHAR for i in ids)

    def save(self, path):
        with open(path, "w", encoding="utf-8") as f:
            json.dump({"unknown_id": UNKNOWN_ID, "chars": self.chars}, f, ensure_ascii=True, indent=0)

    @classmethod
    def load(cls, path):
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        if not isinstance(data, dict) or not isinstance(data.get("chars"), list):
            raise ValueError(f"{path}: not a vocab file (expected {{'chars': [...]}})")
        if not all(isinstance(c, str) and len(c) == 1 for c in data["chars"]):
            raise ValueError(f"{path}: every vocab entry must be a single character")
        return cls(data["chars"])
