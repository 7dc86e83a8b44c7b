"""The MLPerf Tiny reference architectures, built with TensorFlow from a fixed seed (random weights).

    path = build("ds_cnn")          # a .keras file in the mcukit cache, built once per architecture and TF version

Weights are random (the speed and memory of an int8 network do not depend on what it learned); BatchNorm layers
get random statistics so that quantization sees realistic ranges. The architectures follow the MLPerf Tiny
benchmark's reference models (v1.0):
  ds_cnn       keyword spotting: 49x10x1 MFCC, Conv 64 (10x4, stride 2) + 4 x (depthwise 3x3 + pointwise 64),
               average pool, 12 classes
  mobilenet    visual wake words: MobileNetV1 alpha 0.25 at 96x96x3, 2 classes
  resnet8      image classification: ResNet-8 for 32x32x3 (16/32/64 filters, 3 stacks), 10 classes
  ad_fc        anomaly detection: fully connected autoencoder 640-128-128-128-128-8-128-128-128-128-640
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

SEED = 1234


def _bn_relu(layers: Any, x: Any) -> Any:
    return layers.ReLU()(layers.BatchNormalization()(x))


def ds_cnn(keras: Any) -> Any:
    layers = keras.layers
    inp = keras.Input((49, 10, 1), batch_size=1)
    x = _bn_relu(layers, layers.Conv2D(64, (10, 4), strides=(2, 2), padding="same", use_bias=False)(inp))
    for _ in range(4):
        x = _bn_relu(layers, layers.DepthwiseConv2D((3, 3), padding="same", use_bias=False)(x))
        x = _bn_relu(layers, layers.Conv2D(64, (1, 1), padding="same", use_bias=False)(x))
    x = layers.AveragePooling2D(pool_size=(25, 5))(x)
    x = layers.Flatten()(x)
    out = layers.Dense(12, activation="softmax")(x)
    return keras.Model(inp, out, name="ds_cnn")


def mobilenet(keras: Any) -> Any:
    layers = keras.layers
    alpha = 0.25
    inp = keras.Input((96, 96, 3), batch_size=1)
    x = _bn_relu(layers, layers.Conv2D(int(32 * alpha), 3, strides=2, padding="same", use_bias=False)(inp))
    for filters, stride in ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1),
                            (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1)):
        x = _bn_relu(layers, layers.DepthwiseConv2D(3, strides=stride, padding="same", use_bias=False)(x))
        x = _bn_relu(layers, layers.Conv2D(int(filters * alpha), 1, padding="same", use_bias=False)(x))
    x = layers.AveragePooling2D(pool_size=(3, 3))(x)
    x = layers.Flatten()(x)
    out = layers.Dense(2, activation="softmax")(x)
    return keras.Model(inp, out, name="mobilenet_v1_025")


def resnet8(keras: Any) -> Any:
    layers = keras.layers
    inp = keras.Input((32, 32, 3), batch_size=1)
    x = _bn_relu(layers, layers.Conv2D(16, 3, padding="same")(inp))
    for filters, stride in ((16, 1), (32, 2), (64, 2)):
        y = _bn_relu(layers, layers.Conv2D(filters, 3, strides=stride, padding="same")(x))
        y = layers.BatchNormalization()(layers.Conv2D(filters, 3, padding="same")(y))
        if stride != 1:
            x = layers.Conv2D(filters, 1, strides=stride, padding="same")(x)
        x = layers.ReLU()(layers.Add()([x, y]))
    x = layers.AveragePooling2D(pool_size=8)(x)
    x = layers.Flatten()(x)
    out = layers.Dense(10, activation="softmax")(x)
    return keras.Model(inp, out, name="resnet8")


def ad_fc(keras: Any) -> Any:
    layers = keras.layers
    inp = keras.Input((640,), batch_size=1)
    x = inp
    for units in (128, 128, 128, 128, 8, 128, 128, 128, 128):
        x = _bn_relu(layers, layers.Dense(units)(x))
    out = layers.Dense(640)(x)
    return keras.Model(inp, out, name="ad_fc")


BUILDERS: dict[str, Callable[[Any], Any]] = {"ds_cnn": ds_cnn, "mobilenet": mobilenet, "resnet8": resnet8,
                                              "ad_fc": ad_fc}


def _randomize(model: Any, np: Any) -> None:
    """Random BatchNorm statistics (fresh layers are the identity), seeded."""
    rng = np.random.default_rng(SEED)
    for layer in model.layers:
        if type(layer).__name__ == "BatchNormalization":
            gamma, beta, mean, var = layer.get_weights()
            layer.set_weights([rng.uniform(0.5, 1.5, gamma.shape).astype(gamma.dtype),
                               rng.normal(0.0, 0.1, beta.shape).astype(beta.dtype),
                               rng.normal(0.0, 0.1, mean.shape).astype(mean.dtype),
                               rng.uniform(0.5, 1.5, var.shape).astype(var.dtype)])


def build(name: str) -> Path:
    """The .keras file of architecture `name` (built with TensorFlow on the first call, then cached)."""
    from importlib import metadata

    from mcukit.paths import cache_dir

    builder = BUILDERS[name]
    key = hashlib.sha256((inspect.getsource(builder) + inspect.getsource(_randomize) + str(SEED)
                          + metadata.version("keras")).encode()).hexdigest()[:12]
    path = cache_dir() / "benchmarks" / f"{name}-{key}.keras"
    if path.exists():
        return path
    import numpy as np

    from mcukit.quantize._tf import import_tf

    tf = import_tf()
    tf.keras.utils.set_random_seed(SEED)
    model = builder(tf.keras)
    _randomize(model, np)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".tmp.keras")
    model.save(tmp)
    tmp.replace(path)
    return path
