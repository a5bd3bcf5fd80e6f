"""Character-level language models: the vocabulary, training examples, and sampling.

A character-level language model reads the last few symbols of a word and
gives a score (logit) to every symbol that could come next; softmax turns the
scores into probabilities, and drawing from them symbol after symbol writes a
new word.  This module holds what every such model shares, so that
``examples/names_generator.py`` and a notebook use the same pieces:

    words = mg.data.names()
    vocab = Vocabulary.from_words(words)       # '.' (the end mark) and a–z: 27 symbols
    X, Y = vocab.examples(words, context=3)    # (previous 3 symbols) → next symbol, as ids
    ...                                        # a CharModel, trained on X, Y
    sample(model, n=20, temperature=0.8, seed=0)

A model is a ``CharModel``: it knows its vocabulary, how many previous
symbols it reads (``context``), and computes ``logits(ids)``.  Training is
the model's own business; it sets ``model.trained = True`` when done, and
``sample`` refuses a model that has not been trained.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from .engine import Value, no_grad, to_float

__all__ = ["END", "Vocabulary", "CharModel", "sample"]

END = "."  # marks both the start (as padding of the context) and the end of a word


class Vocabulary:
    """The symbols a model reads and writes, with the end mark ``'.'`` as id 0.

    ``Vocabulary.from_words(words)`` collects the letters of a list of words
    (for the names: '.', 'a', ..., 'z', 27 symbols).
    """

    def __init__(self, symbols: Sequence[str]) -> None:
        symbols = list(symbols)
        if not symbols or symbols[0] != END:
            raise ValueError(f"Vocabulary: the first symbol must be the end mark {END!r}, got {symbols[:1]}")
        for s in symbols:
            if not isinstance(s, str) or len(s) != 1:
                raise ValueError(f"Vocabulary: every symbol must be one character, got {s!r}")
        if len(set(symbols)) != len(symbols):
            raise ValueError(f"Vocabulary: the symbols repeat: {''.join(symbols)!r}")
        self.symbols: list[str] = symbols
        self._ids = {s: i for i, s in enumerate(symbols)}

    @classmethod
    def from_words(cls, words: Iterable[str]) -> Vocabulary:
        """The end mark, then every character the words use, in sorted order."""
        words = _words(words, "Vocabulary.from_words")
        letters = sorted(set("".join(words)))
        return cls([END, *letters])

    def __len__(self) -> int:
        return len(self.symbols)

    def __repr__(self) -> str:
        return f"Vocabulary({''.join(self.symbols)!r})"

    def check_id(self, token: Any) -> int:
        """``token`` as an int id; IndexError (TypeError) naming it when it is not one of ours."""
        if isinstance(token, bool) or not isinstance(token, numbers.Integral):
            raise TypeError(f"a token id must be an int, got {type(token).__name__} {token!r}")
        index = int(token)
        if not 0 <= index < len(self.symbols):
            raise IndexError(
                f"token id {index} is out of range for a vocabulary of {len(self.symbols)} symbols "
                f"(0 to {len(self.symbols) - 1})"
            )
        return index

    def encode(self, word: str) -> list[int]:
        """The ids of a word's characters (without end marks)."""
        try:
            return [self._ids[c] for c in word]
        except KeyError as e:
            raise ValueError(f"the word {word!r} has the character {e.args[0]!r}, not in {self!r}") from None

    def decode(self, ids: Iterable[Any]) -> str:
        """The characters of a list of ids."""
        return "".join(self.symbols[self.check_id(i)] for i in ids)

    def examples(self, words: Iterable[str], context: int) -> tuple[np.ndarray, np.ndarray]:
        """The training examples of a list of words: ``(X, Y)``, int64 ids.

        Every word contributes one row per character and one for its end: the
        ``context`` symbols before it in X (the word is padded in front with
        end marks) and the symbol in Y.  "ava" with context 3 gives
        ``... → a``, ``..a → v``, ``.av → a``, ``ava → .``.
        """
        context = _context(context, "examples")
        words = _words(words, "examples")
        rows: list[list[int]] = []
        targets: list[int] = []
        for word in words:
            window = [0] * context
            for token in [*self.encode(word), 0]:
                rows.append(window)
                targets.append(token)
                window = [*window[1:], token]
        return np.array(rows, dtype=np.int64).reshape(-1, context), np.array(targets, dtype=np.int64)


def _words(words: Any, who: str) -> list[str]:
    if isinstance(words, str) or not isinstance(words, Iterable):
        raise TypeError(f"{who}: expected a list of words (str), got {type(words).__name__}")
    words = list(words)
    if not words:
        raise ValueError(f"{who}: the name list is empty")
    for i, w in enumerate(words):
        if not isinstance(w, str):
            raise TypeError(f"{who}: words[{i}] is a {type(w).__name__}, not a str")
        if not w:
            raise ValueError(f"{who}: words[{i}] is the empty string")
        if END in w:
            raise ValueError(f"{who}: words[{i}] = {w!r} contains the end mark {END!r}")
    return words


def _context(context: Any, who: str) -> int:
    if isinstance(context, bool) or not isinstance(context, numbers.Integral) or context < 1:
        raise ValueError(f"{who}: context must be a positive int (symbols read), got {context!r}")
    return int(context)


class CharModel:
    """A model of the next symbol: subclasses define ``logits(ids)``.

    ``CharModel(vocab, context)``: ``context`` is how many previous symbols the
    model reads.  ``logits(ids)`` gets exactly ``context`` valid ids and
    returns one score per symbol of ``vocab`` (numbers or Values).
    ``trained`` is False until the training code sets it.
    """

    def __init__(self, vocab: Vocabulary, context: int) -> None:
        if not isinstance(vocab, Vocabulary):
            raise TypeError(f"{type(self).__name__}: vocab must be a Vocabulary, got {type(vocab).__name__}")
        self.vocab = vocab
        self.context = _context(context, type(self).__name__)
        self.trained = False

    def logits(self, ids: Sequence[int]) -> Sequence[Any]:
        raise NotImplementedError(f"{type(self).__name__} must define logits(ids)")

    def probabilities(self, ids: Sequence[Any], temperature: float = 1.0) -> np.ndarray:
        """P(next symbol | the previous symbols ``ids``): softmax(logits / temperature).

        ``ids`` may be shorter than the context (it is padded in front with end
        marks, as at the start of a word), not longer.
        """
        t = _temperature(temperature)
        ids = [self.vocab.check_id(i) for i in ids]
        if len(ids) > self.context:
            raise ValueError(
                f"the context has {len(ids)} symbols, but {type(self).__name__} reads the previous "
                f"{self.context} (it was built for a context of {self.context})"
            )
        ids = [0] * (self.context - len(ids)) + ids
        with no_grad():
            scores = self.logits(ids)
            try:
                z = np.array([s.data if isinstance(s, Value) else to_float(s, "a logit") for s in scores])
            except TypeError as e:
                raise TypeError(f"{type(self).__name__}.logits must return numbers or Values: {e}") from None
        if z.shape != (len(self.vocab),):
            raise ValueError(
                f"{type(self).__name__}.logits returned {z.size} scores, but the vocabulary has "
                f"{len(self.vocab)} symbols: the model does not fit this vocabulary"
            )
        if not np.all(np.isfinite(z)):
            raise ValueError(f"{type(self).__name__}.logits returned a non-finite score: {z.tolist()}")
        z = z / t
        p = np.exp(z - z.max())
        return p / p.sum()


def _temperature(temperature: Any) -> float:
    t = to_float(temperature, "temperature")
    if not (t > 0.0 and math.isfinite(t)):
        raise ValueError(f"temperature must be a finite number > 0, got {temperature!r}")
    return t


def sample(
    model: CharModel, n: int = 20, temperature: float = 1.0, seed: int | None = 0, max_length: int = 30
) -> list[str]:
    """``n`` new words drawn from a trained model, one symbol at a time.

    Each word starts from a context of end marks; the next symbol is drawn
    from ``model.probabilities(context, temperature)`` until the end mark (or
    ``max_length`` symbols).  ``temperature`` < 1 sharpens the distribution
    (safer, more common words), > 1 flattens it (wilder ones).  The same
    ``seed`` gives the same words.
    """
    if not isinstance(model, CharModel):
        raise TypeError(
            f"sample: model must be a CharModel (vocab, context and logits(ids)), got {type(model).__name__}"
        )
    if not model.trained:
        raise ValueError(
            f"sample: the model {type(model).__name__} has not been trained yet (model.trained is False); "
            f"train it first"
        )
    _temperature(temperature)
    for name, value, least in (("n", n, 0), ("max_length", max_length, 1)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < least:
            raise ValueError(f"sample: {name} must be an int >= {least}, got {value!r}")
    rng = np.random.default_rng(seed)
    words = []
    for _ in range(n):
        window = [0] * model.context
        word: list[int] = []
        while len(word) < max_length:
            token = int(rng.choice(len(model.vocab), p=model.probabilities(window, temperature)))
            if token == 0:
                break
            word.append(token)
            window = [*window[1:], token]
        words.append(model.vocab.decode(word))
    return words
