"""micrograd_tw.charlm: the vocabulary, the training examples, and the sampler with its bad inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest

import micrograd_tw as mg
from micrograd_tw.charlm import CharModel, Vocabulary, sample

AB = Vocabulary(".ab")


class Table(CharModel):
    """A bigram with given probabilities: row = previous symbol, column = next."""

    def __init__(self, P, vocab=AB, trained=True):
        super().__init__(vocab, context=1)
        self.P = np.asarray(P, dtype=float)
        self.trained = trained

    def logits(self, ids):
        with np.errstate(divide="ignore"):
            return [mg.Value(x) for x in np.log(np.maximum(self.P[ids[0]], 1e-300))]


# From the start: 'a' with 3/4, 'b' with 1/4; after a letter, always the end.
ONE_LETTER = [[0, 0.75, 0.25], [1, 0, 0], [1, 0, 0]]


def test_vocabulary_of_the_names():
    vocab = Vocabulary.from_words(mg.data.names())
    assert len(vocab) == 27 and "".join(vocab.symbols) == ".abcdefghijklmnopqrstuvwxyz"
    assert vocab.encode("emma") == [5, 13, 13, 1]
    assert vocab.decode([5, 13, 13, 1]) == "emma"


def test_examples_of_a_word_by_hand():
    vocab = Vocabulary.from_words(["ava"])  # '.', 'a', 'v' -> 0, 1, 2
    X, Y = vocab.examples(["ava"], context=3)
    assert X.tolist() == [[0, 0, 0], [0, 0, 1], [0, 1, 2], [1, 2, 1]]  # ..., ..a, .av, ava
    assert Y.tolist() == [1, 2, 1, 0]  # a, v, a, .
    assert X.dtype == Y.dtype == np.int64
    X1, Y1 = vocab.examples(["ava", "va"], context=1)
    assert X1[:, 0].tolist() == [0, 1, 2, 1, 0, 2, 1] and Y1.tolist() == [1, 2, 1, 0, 2, 1, 0]


def test_examples_count_one_row_per_character_and_end():
    words = mg.data.names()[:100]
    X, Y = Vocabulary.from_words(words).examples(words, context=3)
    assert len(Y) == sum(len(w) + 1 for w in words) and X.shape == (len(Y), 3)
    assert (Y == 0).sum() == 100


@pytest.mark.parametrize("words", [[], iter([]), ()])
def test_empty_name_list_is_refused(words):
    with pytest.raises(ValueError, match="the name list is empty"):
        Vocabulary.from_words(words)
    with pytest.raises(ValueError, match="the name list is empty"):
        AB.examples(words, context=2)


def test_bad_words_and_contexts():
    with pytest.raises(TypeError, match="list of words"):
        Vocabulary.from_words("emma")
    with pytest.raises(ValueError, match="empty string"):
        Vocabulary.from_words(["ab", ""])
    with pytest.raises(ValueError, match="end mark"):
        Vocabulary.from_words(["a.b"])
    with pytest.raises(ValueError, match="'c'"):
        AB.encode("abc")
    with pytest.raises(ValueError, match="context must be a positive int"):
        AB.examples(["ab"], context=0)
    with pytest.raises(ValueError, match="first symbol must be the end mark"):
        Vocabulary("ab.")


@pytest.mark.parametrize("token", [3, -1, 1000])
def test_token_id_out_of_range_is_named(token):
    with pytest.raises(IndexError, match=f"token id {token} is out of range for a vocabulary of 3 symbols"):
        AB.decode([1, token])
    with pytest.raises(IndexError, match=f"token id {token}"):
        Table(ONE_LETTER).probabilities([token])
    with pytest.raises(TypeError, match="must be an int"):
        AB.check_id(1.0)


def test_sampled_frequencies_match_the_probabilities():
    names = sample(Table(ONE_LETTER), n=2000, seed=1)
    assert set(names) == {"a", "b"}
    assert abs(names.count("a") / 2000 - 0.75) < 0.04  # 4 standard deviations: √(.75·.25/2000) ≈ .0097


def test_temperature_sharpens_and_flattens():
    # softmax(log p / T) ∝ p^(1/T): at T = 0.5, 0.75² / (0.75² + 0.25²) = 0.9; at T = 2, √.75 / (√.75 + √.25).
    model = Table(ONE_LETTER)
    assert model.probabilities([0], temperature=0.5)[1] == pytest.approx(0.9)
    flat = math.sqrt(0.75) / (math.sqrt(0.75) + math.sqrt(0.25))
    assert model.probabilities([0], temperature=2.0)[1] == pytest.approx(flat)
    names = sample(model, n=2000, temperature=0.5, seed=2)
    assert abs(names.count("a") / 2000 - 0.9) < 0.03  # √(.9·.1/2000) ≈ .0067


def test_sampling_is_seeded_and_stops_at_max_length():
    P = [[0, 0.5, 0.5], [0.1, 0.45, 0.45], [0.1, 0.45, 0.45]]
    model = Table(P)
    assert sample(model, n=10, seed=3) == sample(model, n=10, seed=3)
    assert sample(model, n=10, seed=3) != sample(model, n=10, seed=4)
    never_ends = Table([[0, 0.5, 0.5], [0, 0.5, 0.5], [0, 0.5, 0.5]])
    assert {len(w) for w in sample(never_ends, n=5, max_length=7)} == {7}


def test_a_shorter_context_is_padded_with_end_marks():
    class Reads(CharModel):
        def logits(self, ids):
            self.seen = list(ids)
            return [0.0, 0.0, 0.0]

    model = Reads(AB, context=3)
    model.probabilities([1])
    assert model.seen == [0, 0, 1]


@pytest.mark.parametrize("temperature", [0, -1.0, 0.0, float("nan"), float("inf")])
def test_temperature_must_be_positive(temperature):
    with pytest.raises(ValueError, match="temperature must be a finite number > 0"):
        sample(Table(ONE_LETTER), n=1, temperature=temperature)


def test_context_longer_than_trained_for():
    with pytest.raises(ValueError, match="the context has 2 symbols, but Table reads the previous 1"):
        Table(ONE_LETTER).probabilities([1, 2])


def test_untrained_model_is_refused():
    with pytest.raises(ValueError, match="has not been trained yet"):
        sample(Table(ONE_LETTER, trained=False))


def test_wrongly_shaped_model_is_refused():
    wide = Table(np.full((3, 4), 0.25))  # 4 scores per row for a vocabulary of 3 symbols
    with pytest.raises(ValueError, match="returned 4 scores, but the vocabulary has 3 symbols"):
        sample(wide)
    with pytest.raises(TypeError, match="model must be a CharModel"):
        sample(lambda ids: [0.0, 0.0, 0.0])
    with pytest.raises(NotImplementedError, match="must define logits"):
        CharModel(AB, context=1).probabilities([0])


def test_bad_counts():
    with pytest.raises(ValueError, match="n must be an int >= 0"):
        sample(Table(ONE_LETTER), n=-1)
    with pytest.raises(ValueError, match="max_length must be an int >= 1"):
        sample(Table(ONE_LETTER), max_length=0)
    assert sample(Table(ONE_LETTER), n=0) == []
