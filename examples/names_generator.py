"""Writing names one character at a time: from counting letter pairs to a neural network (makemore).

    python examples/names_generator.py          # STEPS=20 for a quick run; TEMPERATURE=0.8 for safer names

A language model gives, for the characters written so far, a probability to
every character that could come next (27 symbols: a–z and '.', which marks
the start and the end of a name).  Its loss is the notes' cross-entropy: the
mean of −log P(the character that really came next), in nats per character.
Three models of the 32,033 names of mg.data.names(), trained on 90% of them
and measured on the other 10%:

(a) counting: P(next | previous) from a 27 × 27 table of how often each pair
    of characters occurs (plus one, so no pair has probability 0);
(b) the same bigram as a network: one layer of 27 neurons, one per next
    character, reading the previous character as a one-hot vector (which
    picks one row of its weights: an mg.nn.Embedding(27, 27)); softmax
    turns their 27 outputs (logits) into probabilities, and gradient descent
    θ ← θ − η ∂L/∂θ brings its loss down to the counting model's;
(c) an MLP over the previous 3 characters: each character is looked up in an
    embedding table (mg.nn.Embedding, 10 numbers per character), a hidden
    layer of 64 tanh neurons reads the 30 numbers, 27 output neurons give the
    logits.  It is trained with mg.compile (the graph of one example,
    replayed over batches of 1,024: the character ids go in as integer
    columns, feeding the lookups and cross_entropy's target) and Adam, and
    writes the 20 names printed at the end.

Writes examples/out/names_bigram.png (the pair counts) and names_loss.png.
"""

import math
import os
import time
from pathlib import Path

import numpy as np

import micrograd_tw as mg
from micrograd_tw.charlm import CharModel, Vocabulary, sample
from micrograd_tw.i18n import _  # printouts and plot labels in English or 繁體中文

DEFAULT_STEPS = 5000
STEPS = int(os.environ.get("STEPS", DEFAULT_STEPS))  # Adam steps of (c); (b) takes max(5, STEPS // 20)
TEMPERATURE = float(os.environ.get("TEMPERATURE", 1.0))  # < 1: safer names, > 1: wilder ones
OUT = Path(os.environ.get("OUT", Path(__file__).parent / "out"))
SEED = 0  # the split, the initial weights and the batches
SAMPLE_SEED = 0  # the seed of the 20 names sampled at the end
CONTEXT, DIM, HIDDEN = 3, 10, 64  # the MLP reads 3 characters, 10 numbers each, into 64 neurons
BATCH = 1024
η_MLP = 0.01  # Adam's learning rate at the start, decaying along a cosine to 2% of it
η_BIGRAM = 50.0  # plain gradient descent: row i of W only learns from the batch's examples after character i
CHUNK = 8192  # rows per call when measuring a loss over a whole split


class CountBigram(CharModel):
    """(a) P(next | previous) = (count of the pair + 1) / (count of the previous + 27)."""

    def __init__(self, vocab):
        super().__init__(vocab, context=1)
        self.counts = np.zeros((len(vocab), len(vocab)), dtype=np.int64)

    def fit(self, X, Y):
        np.add.at(self.counts, (X[:, 0], Y), 1)
        smoothed = self.counts + 1.0
        self.P = smoothed / smoothed.sum(axis=1, keepdims=True)
        self.trained = True

    def loss(self, X, Y):
        return float(-np.log(self.P[X[:, 0], Y]).mean())

    def logits(self, ids):
        return np.log(self.P[ids[0]])  # softmax(log P) = P


class NeuralBigram(CharModel, mg.nn.Module):
    """(b) 27 neurons, one per next character, reading the previous character.

    Neuron j's weight W[i][j] is the logit of j after i.  Fed the previous
    character as a one-hot vector, the layer's output Σᵢ onehotᵢ·W[i][j] is
    just row i of W, so the layer is written as that lookup: an
    Embedding(27, 27) whose row i holds the 27 logits after character i (the
    same numbers, the same gradients, without 27 multiplications by 0).  No
    bias is needed.  Trained, softmax of row i approaches row i of the
    counting model.
    """

    def __init__(self, vocab):
        CharModel.__init__(self, vocab, context=1)
        self.W = mg.nn.Embedding(len(vocab), len(vocab))
        for p in self.W.parameters():
            p.data = 0.0  # uniform at the start

    def logits_from_ids(self, ids):
        return self.W(ids[0])

    def logits(self, ids):
        return self.logits_from_ids(list(ids))


class MLPModel(CharModel, mg.nn.Module):
    """(c) Embeddings of the previous characters → a tanh hidden layer → 27 logits."""

    def __init__(self, vocab, context=CONTEXT, dim=DIM, hidden=HIDDEN, seed=0):
        CharModel.__init__(self, vocab, context)
        self.emb = mg.nn.Embedding(len(vocab), dim, seed=seed)
        self.hidden = mg.nn.Layer(context * dim, hidden, activation="tanh", seed=seed + 1)
        self.out = mg.nn.Layer(hidden, len(vocab), activation="linear", seed=seed + 2)

    def logits_from_ids(self, ids):
        x = [number for token in ids for number in self.emb(token)]
        return self.out(self.hidden(x))

    def logits(self, ids):
        return self.logits_from_ids(list(ids))


def compiled_loss(model):
    """mg.compile of one example's loss: the context's ids, then the target's (integer columns)."""
    k = model.context

    def loss(*ids):
        return mg.functional.cross_entropy(model.logits_from_ids(ids[:k]), ids[k])

    return mg.compile(loss)


def columns(X, Y):
    """The compiled loss's input columns for examples X (ids, one row each) → Y: the ids themselves."""
    return [*X.T, Y]


def mean_loss(fast, X, Y):
    """The loss over all of X → Y, in chunks (a batch's memory grows with its rows)."""
    chunks = range(0, len(Y), CHUNK)
    return sum(float(fast(*columns(X[i : i + CHUNK], Y[i : i + CHUNK])).sum()) for i in chunks) / len(Y)


def train(model, fast, X, Y, steps, batch, optimizer, schedule, log, X_val=None, Y_val=None):
    """Minibatch training; returns the minibatch losses and (step, validation loss) pairs."""
    rng = np.random.default_rng(SEED)
    losses, validation = [], []
    for step in range(steps):
        rows = rng.integers(0, len(Y), batch)
        optimizer.zero_grad()
        losses.append(fast.backward(*columns(X[rows], Y[rows])))
        optimizer.lr = schedule(step)
        optimizer.step()
        last = step == steps - 1
        if X_val is not None and (step % max(1, steps // 10) == 0 or last):
            validation.append((step, mean_loss(fast, X_val, Y_val)))
        if step % max(1, steps // 10) == 0 or last:
            line = _("step {step:5d}  loss {loss:.4f}").format(step=step, loss=losses[-1])
            if validation:
                line += "  " + _("validation {loss:.4f}").format(loss=validation[-1][1])
            log("  " + line)
    model.trained = True
    return losses, validation


def draw_bigram_table(counts, vocab, path):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(13, 13))
    ax.imshow(counts, cmap="Blues")
    for i, a in enumerate(vocab.symbols):
        for j, b in enumerate(vocab.symbols):
            color = "white" if counts[i, j] > counts.max() / 2 else "#333333"
            ax.text(j, i - 0.18, a + b, ha="center", va="center", fontsize=6.5, color=color)
            ax.text(j, i + 0.22, str(counts[i, j]), ha="center", va="center", fontsize=5.5, color=color)
    ax.set_xticks(range(len(vocab)), vocab.symbols)
    ax.set_yticks(range(len(vocab)), vocab.symbols)
    ax.set(xlabel=_("next character"), ylabel=_("previous character"),
           title=_("(a) how often each pair of characters occurs in the training names"))
    fig.tight_layout()
    mg.plotting.show(fig, path, dpi=90)  # a file; inline too under IPython's %run


def draw_losses(bigram_losses, mlp_losses, validation, count_loss, path):
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    ax1.plot(bigram_losses, label=_("(b) one layer of 27 neurons, training batches"))
    counting = _("(a) counting, validation {loss:.3f}").format(loss=count_loss)
    ax1.axhline(count_loss, color="black", ls="--", label=counting)
    ax1.set(title=_("the bigram as a network"), xlabel=_("gradient-descent step"),
            ylabel=_("loss (nats per character)"))
    ax1.legend()
    window = max(1, len(mlp_losses) // 50)
    smooth = np.convolve(mlp_losses, np.ones(window) / window, mode="valid")
    ax2.plot(np.arange(len(smooth)) + window - 1, smooth, label=_("training batches (running mean)"))
    ax2.plot(*zip(*validation), "o-", ms=3, label=_("validation"))
    ax2.axhline(count_loss, color="black", ls="--", label=_("(a) counting"))
    ax2.set(title=_("(c) the MLP over 3 characters"), xlabel=_("Adam step"), ylim=(1.9, 3.0))
    ax2.legend()
    fig.tight_layout()
    mg.plotting.show(fig, path, dpi=100)  # a file; inline too under IPython's %run


def main():
    mg.plotting.setup_script()  # pictures to files; a Chinese font in 繁體中文
    start, cpu = time.perf_counter(), time.process_time()
    words = mg.data.names()
    order = np.random.default_rng(SEED).permutation(len(words))
    cut = int(0.9 * len(words))
    train_words, val_words = [words[i] for i in order[:cut]], [words[i] for i in order[cut:]]
    vocab = Vocabulary.from_words(words)
    print(_("{names} names, {symbols} symbols {alphabet}; {train} for training, {validation} for validation")
          .format(names=len(words), symbols=len(vocab), alphabet=repr("".join(vocab.symbols)),
                  train=len(train_words), validation=len(val_words)))

    # (a) counting pairs
    X1, Y1 = vocab.examples(train_words, context=1)
    X1v, Y1v = vocab.examples(val_words, context=1)
    counts = CountBigram(vocab)
    counts.fit(X1, Y1)
    count_loss = counts.loss(X1v, Y1v)
    print(_("(a) counting bigram: training loss {train:.4f}, validation {validation:.4f}")
          .format(train=counts.loss(X1, Y1), validation=count_loss))

    # (b) the same bigram, learned by gradient descent
    bigram = NeuralBigram(vocab)
    bigram_steps = max(5, STEPS // 20)
    print(_("(b) neural bigram, {params} parameters, {steps} steps of gradient descent "
            "on batches of {batch}:").format(params=len(bigram.parameters()), steps=bigram_steps,
                                             batch=4 * BATCH))
    fast_bigram = compiled_loss(bigram)
    sgd = mg.optim.SGD(bigram.parameters(), lr=η_BIGRAM)
    fixed = lambda step: η_BIGRAM  # noqa: E731
    bigram_losses = train(bigram, fast_bigram, X1, Y1, bigram_steps, 4 * BATCH, sgd, fixed, print)[0]
    bigram_loss = mean_loss(fast_bigram, X1v, Y1v)
    print("    " + _("validation {loss:.4f} (counting: {count:.4f})")
          .format(loss=bigram_loss, count=count_loss))

    # (c) the MLP over the previous 3 characters
    X3, Y3 = vocab.examples(train_words, context=CONTEXT)
    X3v, Y3v = vocab.examples(val_words, context=CONTEXT)
    model = MLPModel(vocab, seed=SEED)
    print(_("(c) MLP: {params} parameters, {steps} Adam steps of {batch} examples:")
          .format(params=len(model.parameters()), steps=STEPS, batch=BATCH))
    fast = compiled_loss(model)
    adam = mg.optim.Adam(model.parameters(), lr=η_MLP)
    η = lambda step: η_MLP * (0.02 + 0.98 * 0.5 * (1 + np.cos(np.pi * step / STEPS)))  # noqa: E731
    mlp_losses, validation = train(model, fast, X3, Y3, STEPS, BATCH, adam, η, print, X3v, Y3v)
    train_loss, val_loss = mean_loss(fast, X3, Y3), validation[-1][1]
    print("    " + _("training loss {train:.4f}, validation loss {validation:.4f} nats per character")
          .format(train=train_loss, validation=val_loss))

    names = sample(model, n=20, temperature=TEMPERATURE, seed=SAMPLE_SEED)
    print(_("20 names from the MLP (temperature {temperature}): {names}")
          .format(temperature=TEMPERATURE, names=", ".join(names)))
    new = [name for name in names if name not in set(words)]
    print(_("{count} of them are not in the data set: {names}").format(count=len(new), names=", ".join(new)))
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu

    OUT.mkdir(parents=True, exist_ok=True)
    draw_bigram_table(counts.counts, vocab, OUT / "names_bigram.png")
    draw_losses(bigram_losses, mlp_losses, validation, count_loss, OUT / "names_loss.png")
    print(_("wrote {first} and {second}")
          .format(first=OUT / "names_bigram.png", second=OUT / "names_loss.png"))
    print(_("trained and sampled in {seconds:.0f} s ({cpu:.0f} s of CPU time)")
          .format(seconds=seconds, cpu=cpu_seconds))

    # What the models must reach (the full run); a quick run only has to learn something.
    assert 2.40 < count_loss < 2.52, count_loss
    assert bigram_loss < math.log(len(vocab)), "the neural bigram learned nothing (it starts at ln 27)"
    assert mlp_losses[-1] < mlp_losses[0], "the MLP's loss did not go down"
    if STEPS >= DEFAULT_STEPS:
        assert bigram_loss < count_loss + 0.03, f"the neural bigram stayed at {bigram_loss:.4f}"
        assert val_loss <= 2.20, f"the MLP's validation loss is {val_loss:.4f}, above 2.20"


if __name__ == "__main__":
    main()
