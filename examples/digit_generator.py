"""Drawing digits: a variational autoencoder (VAE) with a 2-D latent plane, on the 8 × 8 digits.

    python examples/digit_generator.py          # STEPS=20 for a quick run

The encoder (64 pixels → 64 → 32 ReLU neurons) squeezes each digit into two
numbers: the centre μ = (μ₁, μ₂) and spread σ of a small cloud in the latent
plane.  The decoder (2 → 32 → 64 ReLU neurons → 64 pixels, each through a
sigmoid) draws a digit from any point z of that plane.  In training, z is
drawn from the cloud: z = μ + σ·ε, with the noise ε given as two input
columns, so the whole step is one scalar graph that mg.compile replays over a
batch.  The loss of a digit x is

    L = Σ over pixels of the cross-entropy between x and the drawn pixel
        + β · KL(cloud ‖ N(0, 1)),   KL = −½ Σ (1 + log σ² − μ² − σ²),

the second term keeping the clouds near the origin, so that every point of
the plane around it decodes to a digit.  Measured quality: a classifier
(64 → 32 → 10, also trained here) reads the reconstructions of held-out
digits, and must give ≥ 80% of them their true label.

Writes examples/out/digits_reconstructed.png (held-out digits and their
reconstructions) and digits_generated.png (where the held-out digits land in
the plane, and the digits the decoder draws across it).
"""

import os
import time
from pathlib import Path

import numpy as np

import micrograd_tw as mg
from micrograd_tw.i18n import _  # printouts and plot labels in English or 繁體中文

DEFAULT_STEPS = 1500
STEPS = int(os.environ.get("STEPS", DEFAULT_STEPS))  # VAE training steps
OUT = Path(os.environ.get("OUT", Path(__file__).parent / "out"))
SEED = 0
HELD_OUT = 360  # digits kept out of training: 1,437 train, 360 test
BATCH = 128
η = 0.006  # Adam's learning rate at the start, decaying along a cosine to 5% of it
β = 0.1  # weight of the KL term: below 1, sharper digits for a less even plane
CLASSIFIER_STEPS = 400
GRID = 15  # the generated grid is GRID × GRID digits
SPAN = 3.0  # ... with z₁, z₂ from −SPAN to SPAN (standard deviations of the prior)


def bce_with_logits(logit, x):
    """Cross-entropy of a pixel x ∈ [0, 1] and sigmoid(logit), written to stay finite for any logit:
    −x log σ(s) − (1 − x) log(1 − σ(s)) = max(s, 0) − x·s + log(1 + e^(−|s|))."""
    return logit.relu() - x * logit + (1 + (-abs(logit)).exp()).log()


class VAE(mg.nn.Module):
    def __init__(self, seed=0):
        self.encoder = mg.nn.MLP(64, [64, 32], activation="relu", output_activation="relu", seed=seed)
        self.mu = mg.nn.Layer(32, 2, activation="linear", seed=seed + 1)
        self.log_var = mg.nn.Layer(32, 2, activation="linear", seed=seed + 2)
        self.decoder = mg.nn.MLP(2, [32, 64, 64], activation="relu", seed=seed + 3)  # → 64 logits

    def encode(self, pixels):
        h = self.encoder(list(pixels))
        return self.mu(h), self.log_var(h)

    def decode(self, z):
        """The 64 pixel logits of the digit at z; pixel = sigmoid(logit)."""
        return self.decoder(list(z))

    def loss(self, pixels, eps):
        mu, log_var = self.encode(pixels)
        z = [m + (0.5 * lv).exp() * e for m, lv, e in zip(mu, log_var, eps)]  # σ = e^(½ log σ²)
        reconstruction = mg.sum([bce_with_logits(s, x) for s, x in zip(self.decode(z), pixels)])
        kl = -0.5 * mg.sum([1 + lv - m * m - lv.exp() for m, lv in zip(mu, log_var)])
        return reconstruction + β * kl

    def reconstruct(self, pixels):
        """The decoded centre of a digit's cloud, as 64 pixels in [0, 1]."""
        with mg.no_grad():
            mu = self.encode(pixels)[0]
            return np.array([s.sigmoid().data for s in self.decode(mu)])

    def generate(self, z):
        with mg.no_grad():
            return np.array([s.sigmoid().data for s in self.decode(z)])


class Classifier(mg.nn.Module):
    def __init__(self, seed=0):
        self.net = mg.nn.MLP(64, [32, 10], activation="relu", seed=seed)

    def loss(self, pixels, target_one_hot):
        """Cross-entropy logsumexp(logits) − logits[label], the label as a one-hot vector (input columns)."""
        logits = self.net(list(pixels))
        return mg.functional.logsumexp(logits) - mg.dot(list(target_one_hot), logits)

    def predict(self, images):
        with mg.no_grad():
            return np.array([int(np.argmax([s.data for s in self.net(list(x))])) for x in images])


def cosine(step, steps, lr, floor):
    return lr * (floor + (1 - floor) * 0.5 * (1 + np.cos(np.pi * step / steps)))


def train_vae(vae, X, steps, log):
    loss_fn = mg.compile(lambda *columns: vae.loss(columns[:64], columns[64:]))
    opt = mg.optim.Adam(vae.parameters(), lr=η)
    rng = np.random.default_rng(SEED)
    losses = []
    for step in range(steps):
        batch = X[rng.choice(len(X), BATCH, replace=False)]
        eps = rng.normal(size=(BATCH, 2))
        opt.zero_grad()
        losses.append(loss_fn.backward(*batch.T, *eps.T))
        opt.lr = cosine(step, steps, η, 0.05)
        opt.step()
        if step % max(1, steps // 10) == 0 or step == steps - 1:
            log("  " + _("step {step:5d}  loss {loss:.3f}").format(step=step, loss=losses[-1]))
    return losses


def train_classifier(clf, X, y, steps):
    loss_fn = mg.compile(lambda *columns: clf.loss(columns[:64], columns[64:]))
    opt = mg.optim.Adam(clf.parameters(), lr=0.01)
    rng = np.random.default_rng(SEED + 1)
    targets = np.eye(10)[y]
    for step in range(steps):
        rows = rng.choice(len(X), BATCH, replace=False)
        opt.zero_grad()
        loss_fn.backward(*X[rows].T, *targets[rows].T)
        opt.lr = cosine(step, steps, 0.01, 0.05)
        opt.step()


def latent_grid():
    """The GRID × GRID points z of the plane that the grid picture decodes, row by row from the top."""
    values = np.linspace(-SPAN, SPAN, GRID)
    return [(z1, z2) for z2 in values[::-1] for z1 in values]


def draw_reconstructions(originals, reconstructions, labels, predicted, path):
    """Pairs of rows: held-out digits, and below each its reconstruction with the classifier's reading."""
    import matplotlib.pyplot as plt

    columns = 10
    pairs = len(originals) // columns
    fig, axes = plt.subplots(2 * pairs, columns, figsize=(columns * 0.95, pairs * 2.3))
    for k in range(pairs * columns):
        pair, i = divmod(k, columns)
        for row, image in enumerate((originals[k], reconstructions[k])):
            ax = axes[2 * pair + row, i]
            ax.imshow(image.reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
        color = "black" if predicted[k] == labels[k] else "red"
        reading = _("read as {digit}").format(digit=predicted[k])
        axes[2 * pair + 1, i].set_xlabel(reading, fontsize=8, color=color)
    for pair in range(pairs):
        axes[2 * pair, 0].set_ylabel(_("digit"), fontsize=9)
        axes[2 * pair + 1, 0].set_ylabel(_("VAE"), fontsize=9)
    fig.suptitle(_("held-out digits and their reconstructions through 2 numbers"), fontsize=10)
    fig.tight_layout()
    mg.plotting.show(fig, path, dpi=100)  # a file; inline too under IPython's %run


def draw_generated(means, labels, images, path):
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 6))
    points = ax1.scatter(means[:, 0], means[:, 1], c=labels, cmap="tab10", s=14, vmin=-0.5, vmax=9.5)
    fig.colorbar(points, ax=ax1, ticks=range(10), label=_("digit"))
    ax1.set(title=_("where the held-out digits land (μ)"), xlabel="z₁", ylabel="z₂",
            xlim=(-SPAN - 0.5, SPAN + 0.5), ylim=(-SPAN - 0.5, SPAN + 0.5))
    ax1.set_aspect("equal")
    canvas = np.ones((GRID * 9 + 1, GRID * 9 + 1))
    for k, image in enumerate(images):
        r, c = divmod(k, GRID)
        canvas[1 + 9 * r : 9 * r + 9, 1 + 9 * c : 9 * c + 9] = 1 - image.reshape(8, 8)
    edge = SPAN + SPAN / (GRID - 1)  # half a cell beyond the outermost points
    ax2.imshow(canvas, cmap="gray", vmin=0, vmax=1, extent=(-edge, edge, -edge, edge))
    ax2.set(title=_("digits the decoder draws at {grid} × {grid} points z").format(grid=GRID),
            xlabel="z₁", ylabel="z₂")
    fig.tight_layout()
    mg.plotting.show(fig, path, dpi=100)  # a file; inline too under IPython's %run


def main():
    mg.plotting.setup_script()  # pictures to files; a Chinese font in 繁體中文
    start, cpu = time.perf_counter(), time.process_time()
    X, y = mg.data.digits()
    order = np.random.default_rng(SEED).permutation(len(X))
    train, test = order[HELD_OUT:], order[:HELD_OUT]
    print(_("{digits} digits of 8 × 8 pixels: {train} for training, {test} held out")
          .format(digits=len(X), train=len(train), test=len(test)))

    vae = VAE(seed=SEED)
    print(_("VAE: {params} parameters, {steps} Adam steps of {batch} digits:")
          .format(params=len(vae.parameters()), steps=STEPS, batch=BATCH))
    losses = train_vae(vae, X[train], STEPS, print)

    clf = Classifier(seed=SEED)
    train_classifier(clf, X[train], y[train], CLASSIFIER_STEPS)
    accuracy = np.mean(clf.predict(X[test]) == y[test])
    print(_("classifier ({params} parameters): {accuracy:.1%} of the held-out digits right")
          .format(params=len(clf.parameters()), accuracy=accuracy))

    reconstructions = np.array([vae.reconstruct(x) for x in X[test]])
    predicted = clf.predict(reconstructions)
    recognised = np.mean(predicted == y[test])
    print(_("the classifier reads {share:.1%} of the held-out digits' reconstructions as their digit")
          .format(share=recognised))
    error = np.mean((reconstructions - X[test]) ** 2)
    print(_("mean squared error of a reconstructed pixel: {error:.4f}").format(error=error))

    with mg.no_grad():
        means = np.array([[m.data for m in vae.encode(x)[0]] for x in X[test]])
    generated = [vae.generate(z) for z in latent_grid()]
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu

    OUT.mkdir(parents=True, exist_ok=True)
    show = [int(np.flatnonzero(y[test] == d)[k]) for k in range(2) for d in range(10)]  # 2 of each digit
    draw_reconstructions(X[test][show], reconstructions[show], y[test][show], predicted[show],
                         OUT / "digits_reconstructed.png")
    draw_generated(means, y[test], generated, OUT / "digits_generated.png")
    print(_("wrote {first} and {second}").format(first=OUT / "digits_reconstructed.png",
                                                 second=OUT / "digits_generated.png"))
    print(_("trained and measured in {seconds:.0f} s ({cpu:.0f} s of CPU time)")
          .format(seconds=seconds, cpu=cpu_seconds))

    assert losses[-1] < losses[0], "the VAE's loss did not go down"
    if STEPS >= DEFAULT_STEPS:
        assert accuracy >= 0.9, f"the classifier only reads {accuracy:.1%} of real digits right"
        assert recognised >= 0.8, f"only {recognised:.1%} of the reconstructions are read as their digit"


if __name__ == "__main__":
    main()
