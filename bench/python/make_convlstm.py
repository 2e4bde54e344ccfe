"""Builds W8's model with real Keras and writes what `npm run bench` reads for it:

  bench/models/convlstm2d.keras    ConvLSTM2D(32, 3x3, same, return_sequences) -> ConvLSTM2D(32, 3x3, same)
                                   -> Conv2D(1, 1x1, sigmoid) -> AveragePooling2D(8) -> Flatten,
                                   input [batch, 10, 64, 64, 1]
  bench/references.json            its "W8" entry: Keras' model.predict of W8's input (the others are kept)

The ONNX graph of the same weights comes from tf2onnx, in a TensorFlow 2 / tf_keras environment:
bench/python/convlstm_onnx.py.

  /work/venvs/keras/bin/python bench/python/make_convlstm.py      (Keras 3 + TensorFlow + h5py)
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import bench_path, load_workloads, workload_input  # noqa: E402

import keras  # noqa: E402

MODEL = "convlstm2d"
WORKLOAD = "W8"


def build(spec):
    keras.utils.set_random_seed(808)
    frames = (spec["steps"], *spec["stepShape"])
    layers = keras.layers
    model = keras.Sequential([
        keras.Input(frames, name="x"),
        layers.ConvLSTM2D(32, 3, padding="same", return_sequences=True, name="convlstm_1"),
        layers.ConvLSTM2D(32, 3, padding="same", name="convlstm_2"),
        layers.Conv2D(1, 1, activation="sigmoid", name="conv_head"),
        layers.AveragePooling2D(8, name="pool"),
        layers.Flatten(name="flatten"),
    ], name=MODEL)
    # Small random biases (Keras initializes them to zeros, the forget gate's to ones), so that a
    # bias in the wrong place disagrees with Keras.
    rng = np.random.default_rng(808)
    for layer in model.layers:
        weights = layer.get_weights()
        if weights:
            weights[-1] = weights[-1] + rng.normal(0.0, 0.1, weights[-1].shape).astype(np.float32)
            layer.set_weights(weights)
    return model


def main():
    spec = load_workloads()
    models = spec["models"]
    build(models[MODEL]).save(bench_path(models[MODEL]["keras"]))
    model = keras.saving.load_model(bench_path(models[MODEL]["keras"]), compile=False)
    (workload,) = [w for w in spec["workloads"] if w["id"] == WORKLOAD]
    x = workload_input(workload, models)
    expected = model.predict(x, batch_size=len(x), verbose=0)
    path = bench_path("references.json")
    with open(path) as f:
        references = json.load(f)
    references["outputs"][WORKLOAD] = {"shape": list(expected.shape), "data": [float(v) for v in expected.reshape(-1)]}
    with open(path, "w") as f:
        json.dump(references, f)
        f.write("\n")
    print(f"wrote {models[MODEL]['keras']} and the {WORKLOAD} reference {list(expected.shape)}")


if __name__ == "__main__":
    main()
