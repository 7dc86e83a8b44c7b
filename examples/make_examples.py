"""Make the example models and their held-out test sets, deterministically.

    .venv/bin/python examples/make_examples.py [--out examples]

Writes three small Keras 3 `.h5` models with a held-out `.npz` test set each:

    kws.h5 / kws_test.npz                  DS-CNN keyword spotting on MFCC-like 49x10x1 features, 12 classes
    resnet.h5 / resnet_test.npz            small ResNet (residual ADD) on 32x32x3 images, 10 classes
    autoencoder.h5 / autoencoder_test.npz  fully-connected autoencoder on 128-sample signals

All data is synthetic and generated here from fixed seeds, so the script needs no download. Test-set values are
rounded to a coarse grid (1/32 for features and signals, 1/255 for pixels) so the compressed .npz files stay small;
the models are trained on data drawn the same way. Runs on a CPU in about a minute.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

SEED = 20240611
KWS_SHAPE = (49, 10, 1)  # 49 frames of 10 MFCC-like coefficients, as in MLPerf Tiny keyword spotting
KWS_CLASSES = 12  # "silence", "unknown" and ten keywords
IMG_SHAPE = (32, 32, 3)
IMG_CLASSES = 10
AE_LEN = 128


# ---- synthetic data ---------------------------------------------------------------------------------------------


def _kws_templates(rng: np.random.Generator) -> list[list[tuple[int, int, float, float, float]]]:
    """Each keyword is a few (start frame, length, centre coefficient, width, amplitude) time-frequency strokes."""
    templates = []
    for _ in range(KWS_CLASSES - 2):
        strokes = []
        t = int(rng.integers(8, 14))
        for _ in range(int(rng.integers(2, 4))):
            length = int(rng.integers(5, 10))
            strokes.append((t, length, float(rng.uniform(0.5, 8.5)), float(rng.uniform(0.8, 1.6)),
                            float(rng.uniform(1.2, 2.0)) * float(rng.choice([-1.0, 1.0]))))
            t += length + int(rng.integers(0, 3))
        templates.append(strokes)
    return templates


def _render_strokes(strokes, shift: int, fshift: float, gain: float) -> np.ndarray:
    frames = np.arange(KWS_SHAPE[0])[:, None]
    coeffs = np.arange(KWS_SHAPE[1])[None, :]
    out = np.zeros(KWS_SHAPE[:2], np.float64)
    for start, length, centre, width, amp in strokes:
        s = start + shift
        envelope = np.exp(-0.5 * ((frames - (s + length / 2)) / (length / 2.5)) ** 2)
        profile = np.exp(-0.5 * ((coeffs - (centre + fshift)) / width) ** 2)
        out += amp * gain * envelope * profile
    return out


def make_kws(n: int, rng: np.random.Generator, templates) -> tuple[np.ndarray, np.ndarray]:
    """MFCC-like keyword data: class strokes, shifted in time and frequency, over a noisy speaker-like background."""
    x = np.empty((n, *KWS_SHAPE), np.float32)
    y = rng.integers(0, KWS_CLASSES, n)
    spectral_tilt = np.linspace(0.6, -0.6, KWS_SHAPE[1])[None, :]
    for i, label in enumerate(y):
        shift = int(rng.integers(-9, 10))
        fshift = float(rng.uniform(-1.2, 1.2))
        gain = float(rng.uniform(0.6, 1.3))
        if label == 0:  # silence: background only
            feat = np.zeros(KWS_SHAPE[:2])
        elif label == 1:  # unknown word: strokes from a fresh random word
            feat = _render_strokes(_kws_templates(rng)[0], shift, fshift, gain)
        else:
            feat = _render_strokes(templates[label - 2], shift, fshift, gain)
        background = spectral_tilt * rng.uniform(0.5, 1.5) + rng.normal(0.0, 0.55, KWS_SHAPE[:2])
        x[i, :, :, 0] = feat + background
    return np.round(x * 32) / 32, y.astype(np.int64)


def make_images(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Gratings: the class is the pair (orientation of 5, spatial frequency of 2); phase, colour and noise vary."""
    y = rng.integers(0, IMG_CLASSES, n)
    yy, xx = np.mgrid[0 : IMG_SHAPE[0], 0 : IMG_SHAPE[1]].astype(np.float64)
    x = np.empty((n, *IMG_SHAPE), np.float32)
    for i, label in enumerate(y):
        angle = np.pi * (label % 5) / 5 + rng.normal(0, 0.08)
        freq = (0.25 if label < 5 else 0.55) * rng.uniform(0.85, 1.15)
        wave = np.sin(freq * (np.cos(angle) * xx + np.sin(angle) * yy) + rng.uniform(0, 2 * np.pi))
        tint = rng.uniform(0.2, 1.0, 3)
        base = rng.uniform(0.1, 0.5, 3)
        img = base + 0.35 * wave[..., None] * tint + rng.normal(0, 0.12, IMG_SHAPE)
        x[i] = np.clip(img, 0.0, 1.0)
    return np.round(x * 255) / 255, y.astype(np.int64)


def make_signals(n: int, rng: np.random.Generator) -> np.ndarray:
    """Machine-like signals: a fundamental and two harmonics with random phase and level, plus noise."""
    t = np.arange(AE_LEN)[None, :]
    f0 = rng.uniform(2.0, 6.0, (n, 1)) / AE_LEN * 2 * np.pi
    sig = rng.uniform(0.5, 1.0, (n, 1)) * np.sin(f0 * t + rng.uniform(0, 2 * np.pi, (n, 1)))
    for k in (2, 3):
        sig += rng.uniform(0.0, 0.4, (n, 1)) * np.sin(k * f0 * t + rng.uniform(0, 2 * np.pi, (n, 1)))
    sig += rng.normal(0, 0.05, sig.shape)
    return (np.round(sig * 32) / 32).astype(np.float32)


# ---- models -----------------------------------------------------------------------------------------------------


def build_kws(keras, channels: int = 48):
    """DS-CNN (MLPerf Tiny keyword spotting), with fewer channels: conv 10x4/2, 4 depthwise-separable blocks."""
    layers = keras.layers
    inp = keras.Input(shape=KWS_SHAPE, name="mfcc")
    h = layers.Conv2D(channels, (10, 4), strides=(2, 2), padding="same", use_bias=False)(inp)
    h = layers.BatchNormalization()(h)
    h = layers.ReLU()(h)
    for _ in range(4):
        h = layers.DepthwiseConv2D((3, 3), padding="same", use_bias=False)(h)
        h = layers.BatchNormalization()(h)
        h = layers.ReLU()(h)
        h = layers.Conv2D(channels, (1, 1), use_bias=False)(h)
        h = layers.BatchNormalization()(h)
        h = layers.ReLU()(h)
    h = layers.GlobalAveragePooling2D()(h)
    out = layers.Dense(KWS_CLASSES, activation="softmax")(h)
    return keras.Model(inp, out, name="kws_dscnn")


def build_resnet(keras):
    """ResNet-8-like, smaller: a stem, one identity block and one strided block with a 1x1 projection."""
    layers = keras.layers

    def block(h, filters: int, stride: int):
        shortcut = h
        r = layers.Conv2D(filters, 3, strides=stride, padding="same")(h)
        r = layers.BatchNormalization()(r)
        r = layers.ReLU()(r)
        r = layers.Conv2D(filters, 3, padding="same")(r)
        r = layers.BatchNormalization()(r)
        if stride != 1 or shortcut.shape[-1] != filters:
            shortcut = layers.Conv2D(filters, 1, strides=stride)(shortcut)
        return layers.ReLU()(layers.Add()([r, shortcut]))

    inp = keras.Input(shape=IMG_SHAPE, name="image")
    h = layers.Conv2D(12, 3, padding="same")(inp)
    h = layers.BatchNormalization()(h)
    h = layers.ReLU()(h)
    h = block(h, 12, 1)
    h = block(h, 24, 2)
    h = layers.AveragePooling2D(4)(h)
    h = layers.Flatten()(h)
    out = layers.Dense(IMG_CLASSES, activation="softmax")(h)
    return keras.Model(inp, out, name="resnet_small")


def build_autoencoder(keras):
    layers = keras.layers
    inp = keras.Input(shape=(AE_LEN,), name="signal")
    h = layers.Dense(64, activation="relu")(inp)
    h = layers.Dense(16, activation="relu")(h)
    h = layers.Dense(64, activation="relu")(h)
    out = layers.Dense(AE_LEN)(h)
    return keras.Model(inp, out, name="autoencoder")


# ---- main -------------------------------------------------------------------------------------------------------


def _save(model, path: Path) -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Keras 3 calls .h5 "legacy"; it is the format users bring
        model.save(path, include_optimizer=False)  # the optimizer state would triple the file size


def _predict(model, x: np.ndarray) -> np.ndarray:
    return np.asarray(model(x, training=False))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    parser.add_argument("--epochs", type=int, default=0, help="override every model's epoch count (for quick runs)")
    args = parser.parse_args(argv)

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")  # oneDNN reorders float sums; keep training reproducible
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(SEED)
    tf.config.experimental.enable_op_determinism()
    args.out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)

    def epochs(n: int) -> int:
        return args.epochs or n

    t0 = time.time()
    # Keyword spotting.
    templates = _kws_templates(rng)
    x_train, y_train = make_kws(4000, rng, templates)
    x_test, y_test = make_kws(200, rng, templates)
    kws = build_kws(keras)
    kws.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    kws.fit(x_train, y_train, batch_size=64, epochs=epochs(12), verbose=0, shuffle=True)
    acc = float(np.mean(np.argmax(_predict(kws, x_test), axis=1) == y_test))
    _save(kws, args.out / "kws.h5")
    np.savez_compressed(args.out / "kws_test.npz", x=x_test, y=y_test)
    print(f"kws.h5          float top-1 accuracy on kws_test.npz ({len(y_test)} samples): {acc:.1%}")

    # Image classification with residual ADDs.
    x_train, y_train = make_images(3000, rng)
    x_test, y_test = make_images(60, rng)
    resnet = build_resnet(keras)
    resnet.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    resnet.fit(x_train, y_train, batch_size=64, epochs=epochs(6), verbose=0, shuffle=True)
    acc = float(np.mean(np.argmax(_predict(resnet, x_test), axis=1) == y_test))
    _save(resnet, args.out / "resnet.h5")
    np.savez_compressed(args.out / "resnet_test.npz", x=x_test, y=y_test)
    print(f"resnet.h5       float top-1 accuracy on resnet_test.npz ({len(y_test)} samples): {acc:.1%}")

    # Autoencoder.
    x_train = make_signals(6000, rng)
    x_test = make_signals(200, rng)
    ae = build_autoencoder(keras)
    ae.compile(optimizer=keras.optimizers.Adam(2e-3), loss="mse")
    ae.fit(x_train, x_train, batch_size=64, epochs=epochs(30), verbose=0, shuffle=True)
    mse = float(np.mean((_predict(ae, x_test) - x_test) ** 2))
    var = float(np.var(x_test))
    _save(ae, args.out / "autoencoder.h5")
    np.savez_compressed(args.out / "autoencoder_test.npz", x=x_test)
    print(f"autoencoder.h5  float reconstruction MSE on autoencoder_test.npz ({len(x_test)} samples): {mse:.4f} "
          f"(signal variance {var:.4f}, explained {1 - mse / var:.1%})")

    total = sum(p.stat().st_size for p in args.out.iterdir() if p.suffix in (".h5", ".npz"))
    print(f"wrote {args.out} ({total / 1024:.0f} KiB of models and test sets) in {time.time() - t0:.0f} s "
          f"with TensorFlow {tf.__version__}, Keras {keras.__version__}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
