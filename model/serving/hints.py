"""What the buffer knows beyond the network, mixed into its next-character distribution:

- the match model: code repeats itself within a file far more than a small LSTM can remember
  (a line written twice, a call pattern, a name). Compressors exploit this with a match model
  (lpaq, cmix): find the last time the recent characters occurred and predict the character that
  came next. It is mixed in with a weight per match length, fitted on the val split
  (fit_match_weights; stored in meta.json "match").
- the words: inside an identifier, the buffer's identifiers that start with what is typed vote
  for their next character (WordCache).
- the project: the other files a request sends (`files`) give a second match model and a
  second word vote, each weighted apart from the buffer's (ProjectFiles, ProjectHints).
"""
import bisect
import hashlib
import re
import threading
from collections import OrderedDict

import numpy as np
from numba import njit

from model.serving.limits import FILES_BUDGET_MAX, FILES_MAX

MATCH_MIN = 5     # characters of context a match must share
MATCH_MAX = 64    # longer agreements count as this long
MATCH_EDGES = (5, 6, 8, 10, 12, 16, 20, 24, 32, 48, 64)  # length buckets, one weight each


MATCH_TABLE_BITS = 16  # fixed, so a prediction never depends on how much text follows


@njit(cache=True)
def _match_take(ids, i, table, ptr, length, insert, window):
    """The match state after taking in ids[i], given the state before it. A new match starts
    only within the last `window` characters (what a server request carries)."""
    if length > 0 and ids[ptr] == ids[i]:  # the match predicted it: it goes on
        return ptr + 1, min(length + 1, MATCH_MAX)
    length = 0
    if i + 1 < MATCH_MIN:
        return ptr, 0
    h = 0
    for k in range(i + 1 - MATCH_MIN, i + 1):
        h = (h * 0x2F0F3 + ids[k] + 1) & 0xFFFFFFFF
    h &= (1 << MATCH_TABLE_BITS) - 1
    j = table[h]
    if j >= 0 and i + 1 - j <= window:
        agree = 0  # a hash collision agrees on fewer than MATCH_MIN characters
        while agree < MATCH_MAX and j - 1 - agree >= 0 and ids[j - 1 - agree] == ids[i - agree]:
            agree += 1
        if agree >= MATCH_MIN:
            ptr, length = j, agree
    if insert:
        table[h] = i + 1
    return ptr, length


@njit(cache=True)
def match_scan(ids, preds, lengths, table, window):
    """Run the match model along ids, remembering every position in table. For each position i,
    preds[i] is the id that followed the most recent earlier occurrence of the context before i
    (-1 if none) and lengths[i] how many characters of context agree (0 if none). Returns the
    state (ptr, length) after the last id."""
    ptr, length = -1, 0
    for i in range(len(ids)):
        preds[i] = ids[ptr] if length > 0 else -1
        lengths[i] = length
        ptr, length = _match_take(ids, i, table, ptr, length, True, window)
    return ptr, length


@njit(cache=True)
def match_resume(ids, start, table, ptr, length):
    """Go on from a scan of ids[:start] over the generated ids[start:], without remembering
    them (a completion should copy the buffer, not itself). Returns (predicted id or -1, length)."""
    for i in range(start, len(ids)):
        ptr, length = _match_take(ids, i, table, ptr, length, False, len(ids))
    return (ids[ptr], length) if length > 0 else (-1, 0)


def new_match_table():
    return np.full(1 << MATCH_TABLE_BITS, -1, np.int32)


def match_predictions(ids, window=None):
    """(preds, lengths) of the match model at every position of ids, looking back at most
    `window` characters (default: all of them)."""
    ids = np.ascontiguousarray(ids, dtype=np.int32)
    preds, lengths = np.empty(len(ids), np.int32), np.empty(len(ids), np.int32)
    match_scan(ids, preds, lengths, new_match_table(), window or len(ids))
    return preds, lengths


def match_bucket(lengths):
    """Index into MATCH_EDGES of each (non-zero) match length (of one, without numpy's array
    costs: the choice search mixes a few dozen distributions a request)."""
    if np.ndim(lengths) == 0:
        return bisect.bisect_right(MATCH_EDGES, lengths) - 1
    return np.searchsorted(MATCH_EDGES, lengths, side="right") - 1


def mix_match(p, preds, lengths, weights):
    """Mix the match model into next-character distributions (rows of p): (1 - w) p, plus w on
    the predicted id, w the weight of the match's length bucket. Rows whose pred is -1 keep p.
    One distribution (p a vector, a pred and a length) gives one, without numpy's per-row costs."""
    if np.ndim(p) == 1:
        if preds < 0:
            return p
        w = weights[match_bucket(max(lengths, MATCH_MIN))]
        mixed = (1 - w) * p
        mixed[preds] += w
        return mixed
    p, preds, lengths = np.atleast_2d(p), np.atleast_1d(preds), np.atleast_1d(lengths)
    has = preds >= 0
    w = np.where(has, weights[match_bucket(np.maximum(lengths, MATCH_MIN))], 0.0)
    mixed = (1 - w)[:, None] * p
    mixed[np.flatnonzero(has), preds[has]] += w[has]
    return mixed



WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
TRAILING_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def extend_word(word, char):
    """The identifier being written after char is added to one that was `word`."""
    if char == "_" or char.isascii() and char.isalpha():
        return word + char
    if char.isascii() and char.isdigit() and word:
        return word + char
    return ""


def word_after(word, text):
    """The identifier being written after `text` is added to one that was `word`."""
    for char in text:
        word = extend_word(word, char)
    return word


class WordCache:
    """The identifiers of the buffer, for finishing one the user has started.

    Code repeats its own names, which a character model that has read the last 2000 characters
    cannot copy from further up. So inside an identifier the model's next-character distribution
    is mixed with the buffer's: the words that start with what is typed so far, weighted by how
    often (and how recently) they occur, vote for their next character or for ending the word
    (a character-level cache model, after Grave et al. 2017's neural cache).
    """

    def __init__(self, text, after=""):
        """text: the buffer before the cursor; after: the buffer after it (an editor's word list
        has those words too), less the rest of the word the cursor is in."""
        counts, n = {}, max(len(text), 1)
        for m in WORD.finditer(text):
            counts[m.group()] = counts.get(m.group(), 0.0) + 1.0 + m.start() / n  # later ones weigh up to 2x
        after = after[len(re.match(r"[A-Za-z0-9_]*", after).group()):]
        n = max(len(after), 1)
        for m in WORD.finditer(after):
            counts[m.group()] = counts.get(m.group(), 0.0) + 2.0 - m.start() / n  # nearer ones up to 2x
        self.counts = counts
        self.words = sorted(counts)

    def next_chars(self, prefix):
        """{next character, or None where the word ends: weight} over the words starting with prefix."""
        votes = {}
        i = bisect.bisect_left(self.words, prefix)
        while i < len(self.words) and self.words[i].startswith(prefix):
            word = self.words[i]
            key = word[len(prefix)] if len(word) > len(prefix) else None
            votes[key] = votes.get(key, 0.0) + self.counts[word]
            i += 1
        return votes


def match_weights(match):
    """The match model's weight per length bucket from meta.json's "match" (None where the model
    dir has none); ValueError where they are not usable with this match model."""
    if match is None:
        return None
    try:
        weights = np.array(match["weights"], dtype=np.float64)
        if tuple(match["edges"]) != MATCH_EDGES or match["min"] != MATCH_MIN or match["max"] != MATCH_MAX:
            raise ValueError(f"fitted for other lengths ({match['edges']})")
    except (KeyError, TypeError) as err:
        raise ValueError(err) from None
    if weights.shape != (len(MATCH_EDGES),) or not np.all((weights >= 0) & (weights < 1)):
        raise ValueError("weights must be one number in [0, 1) per length bucket")
    return weights


def fit_match_weights(predictions):
    """The match model's weight for each length bucket that makes the mixture most likely, over
    (targets, log-probs, match preds, match lengths) of documents (Completer.predictions); a grid
    search per bucket, as each bucket's weight is independent of the others'."""
    grid = np.linspace(0.0, 0.99, 100)
    nll = np.zeros((len(MATCH_EDGES), len(grid)))
    seen = np.zeros(len(MATCH_EDGES), np.int64)
    for targets, logp, preds, lengths in predictions:
        has = preds >= 0
        p_target = np.exp(logp[np.flatnonzero(has), targets[has]])
        hit = (preds[has] == targets[has]).astype(np.float64)
        buckets = match_bucket(lengths[has])
        for b in range(len(MATCH_EDGES)):
            sel = buckets == b
            seen[b] += int(sel.sum())
            mixed = (1 - grid)[None, :] * p_target[sel][:, None] + grid[None, :] * hit[sel][:, None]
            nll[b] -= np.log(np.maximum(mixed, 1e-30)).sum(axis=0)
    weights = [round(float(grid[np.argmin(nll[b])]), 4) if seen[b] else 0.0 for b in range(len(MATCH_EDGES))]
    return {"min": MATCH_MIN, "max": MATCH_MAX, "edges": list(MATCH_EDGES), "weights": weights,
            "positions": [int(n) for n in seen]}


class BufferHints:
    """One request's hints: its buffer's words (a WordCache, or None) and the match model run
    along its buffer's ids (or None), ready to go on over what the completion generates."""

    def __init__(self, words=None, ids=None):
        self.words = words
        self.project = None  # ProjectHints, when the request sent files
        self.head = None  # the network's output layer adapted to the buffer (model.serving.adapt), where it adapts
        self.ids = None
        if ids is not None:
            # The buffer's ids with room after them: generated ids are written there, never
            # concatenated onto a copy of the whole buffer at every character.
            self.length = len(ids)
            self.ids = np.empty(self.length + 256, np.int32)
            self.ids[:self.length] = ids
            self.table = new_match_table()
            scratch = np.empty(self.length, np.int32)
            self.state = match_scan(self.ids[:self.length], scratch, scratch.copy(), self.table, self.length)

    def match(self, generated):
        """(predicted id or -1, length) after the buffer and the ids generated so far."""
        if self.ids is None:
            return -1, 0
        if not generated:
            ptr, length = self.state
            return (int(self.ids[ptr]), length) if length > 0 else (-1, 0)
        end = self.length + len(generated)
        if end > len(self.ids):
            self.ids = np.concatenate([self.ids, np.empty(end, np.int32)])
        self.ids[self.length:end] = generated
        return match_resume(self.ids[:end], self.length, self.table, *self.state)

    def word_votes(self, word):
        """The buffer's words' votes for what follows `word` (the identifier typed so far), or None."""
        return self.words.next_chars(word) if self.words is not None and word else None


def mix_words(p, votes, weight, word_end, index):
    """(1 - weight) p + weight (the words' votes, normalised): a vote for a character goes to its
    id; a vote for the word ending here goes to what may follow a word (word_end: 1 at those ids),
    as the model distributes it."""
    if not votes:
        return p
    total_votes = sum(votes.values())
    from_words = np.zeros_like(p)
    for char, votes_for in votes.items():
        if char is None:  # the word ends here: what follows is the model's call
            follow = p * word_end
            if follow.sum() > 0:
                from_words += votes_for / total_votes * follow / follow.sum()
        elif char in index:
            from_words[index[char]] += votes_for / total_votes
    if from_words.sum() == 0:
        return p
    from_words /= from_words.sum()
    return (1 - weight) * p + weight * from_words


# -- The project's other files ----------------------------------------------------------------
# Another file's evidence is weaker than the buffer's (a line copied from a sibling module goes
# wrong more often than a line the buffer already has), so it is a separate match model with
# weights of its own (meta.json "project_match"), and its words a separate vote.

PROJECT_TABLE_BITS = 18  # up to 256 KB of files: room for most of their positions


@njit(cache=True)
def _context_hash(ids, i, bits):
    h = 0
    for k in range(i + 1 - MATCH_MIN, i + 1):
        h = (h * 0x2F0F3 + ids[k] + 1) & 0xFFFFFFFF
    return h & ((1 << bits) - 1)


@njit(cache=True)
def project_table(src, bits):
    """Hash of each MATCH_MIN characters of src -> the position after their last occurrence."""
    table = np.full(1 << bits, -1, np.int32)
    for i in range(MATCH_MIN - 1, len(src) - 1):
        table[_context_hash(src, i, bits)] = i + 1
    return table


@njit(cache=True)
def project_scan(src, table, bits, ids, preds, lengths):
    """For each position i of ids: preds[i] is the id that followed, in src, the last occurrence
    of the context before i (-1 if none), lengths[i] how many characters agree. Returns the
    state (ptr, length) after the last id."""
    ptr, length = -1, 0
    for i in range(len(ids)):
        preds[i] = src[ptr] if length > 0 else -1
        lengths[i] = length
        if length > 0 and src[ptr] == ids[i] and ptr + 1 < len(src):
            ptr, length = ptr + 1, min(length + 1, MATCH_MAX)
            continue
        length = 0
        if i + 1 < MATCH_MIN:
            continue
        j = table[_context_hash(ids, i, bits)]
        if j >= 0:
            agree = 0
            while agree < MATCH_MAX and j - 1 - agree >= 0 and i - agree >= 0 and src[j - 1 - agree] == ids[i - agree]:
                agree += 1
            if agree >= MATCH_MIN and j < len(src):
                ptr, length = j, agree
    return ptr, length


class ProjectFiles:
    """The other files of a request, ready for the hints: their cleaned ids one after another
    (each after a file start), the match table over them, and their words. Built once per set
    of contents (Completer.project_for caches it)."""

    def __init__(self, cleaned_ids, words_text):
        self.src = np.ascontiguousarray(np.concatenate(cleaned_ids) if cleaned_ids else np.zeros(0), dtype=np.int32)
        self.table = project_table(self.src, PROJECT_TABLE_BITS)
        self.words = WordCache(words_text)
        self.chars = len(self.src)

    def predictions(self, ids):
        """(preds, lengths) of the project match model at each position of ids (a document read
        from its start), as ProjectHints would see them."""
        ids = np.ascontiguousarray(ids, dtype=np.int32)
        preds, lengths = np.empty(len(ids), np.int32), np.empty(len(ids), np.int32)
        project_scan(self.src, self.table, PROJECT_TABLE_BITS, ids, preds, lengths)
        return preds, lengths


class ProjectHints:
    """One request's view of its project files: the match model run from the end of the buffer
    into the other files, going on over what the completion generates."""

    TAIL = MATCH_MAX * 2  # buffer characters the match is looked for in (the longest agreement counts)

    def __init__(self, project, buffer_ids):
        self.project = project
        self.ids = np.empty(self.TAIL + 256, np.int32)
        tail = buffer_ids[-self.TAIL:]
        self.length = len(tail)
        self.ids[:self.length] = tail
        self.preds, self.lengths = np.empty(len(self.ids), np.int32), np.empty(len(self.ids), np.int32)

    def match(self, generated):
        """(predicted id or -1, length) after the buffer's end and the ids generated so far."""
        end = self.length + len(generated)
        if end > len(self.ids):
            self.ids = np.concatenate([self.ids, np.empty(end, np.int32)])
            self.preds, self.lengths = np.empty(len(self.ids), np.int32), np.empty(len(self.ids), np.int32)
        self.ids[self.length:end] = generated
        p = self.project
        ptr, length = project_scan(p.src, p.table, PROJECT_TABLE_BITS, self.ids[:end], self.preds, self.lengths)
        return (int(p.src[ptr]), int(length)) if length > 0 else (-1, 0)

    def word_votes(self, word):
        return self.project.words.next_chars(word) if word else None


class ProjectCache:
    """ProjectFiles for the last few sets of files, and each file's cleaned ids by content hash:
    a request that resends unchanged files costs a hash of their text; one new file costs
    cleaning that file and indexing the set again."""

    def __init__(self, max_files=FILES_MAX, max_chars=FILES_BUDGET_MAX, sets=4):
        self.max_files, self.max_chars, self.sets = max_files, max_chars, sets
        self.files = OrderedDict()  # content hash -> (ids, cleaned text)
        self.projects = OrderedDict()  # content hashes of a request's files -> ProjectFiles
        self.lock = threading.Lock()

    def get(self, files, encode, clean):
        """ProjectFiles for the first (most relevant) files within the bounds, or None.
        encode: cleaned text -> ids (with its file start); clean: raw text -> cleaned text."""
        chosen, total = [], 0
        for _, text in files or ():
            if len(chosen) == self.max_files or total + len(text) > self.max_chars:
                break
            chosen.append(text)
            total += len(text)
        if not chosen:
            return None
        keys = tuple(hashlib.blake2b(t.encode("utf-8", "surrogatepass"), digest_size=16).digest() for t in chosen)
        with self.lock:
            if keys in self.projects:
                self.projects.move_to_end(keys)
                return self.projects[keys]
        parts = []
        for key, text in zip(keys, chosen):
            with self.lock:
                part = self.files.get(key)
            if part is None:
                body = clean(text)
                part = (np.asarray(encode(body), dtype=np.int32), body)
                with self.lock:
                    self.files[key] = part
                    while len(self.files) > 4 * self.max_files:
                        self.files.popitem(last=False)
            parts.append(part)
        project = ProjectFiles([ids for ids, _ in parts], "\n".join(body for _, body in parts))
        with self.lock:
            self.projects[keys] = project
            while len(self.projects) > self.sets:
                self.projects.popitem(last=False)
        return project
