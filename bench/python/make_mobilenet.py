"""Writes the W7 model (MobileNetV2, alpha 1.0, 224x224x3, 1000 classes), which is too large to
commit (14 MB), and Keras' reference output for W7. Run it once before `npm run bench` (the
bench skips W7 and names this script while the files are missing):

  /work/venvs/onnx-tf/bin/python bench/python/make_mobilenet.py
  (a venv from tools/fixtures/onnx/requirements-tf.txt: tf_keras, tf2onnx, onnxruntime, h5py)

  bench/models/mobilenetv2.h5              tf_keras' MobileNetV2(weights=None), legacy HDF5
  bench/models/mobilenetv2.onnx            the same model through tf2onnx (input x, output y)
  bench/models/mobilenetv2.tfjs.json       its Keras 2 architecture JSON, which tfjs-layers reads
  bench/models/mobilenetv2.reference.json  tf_keras' predict on W7's input

The weights are Keras' seeded initializers with random BatchNormalization statistics and
biases. The output is the logits (classifier_activation=None): a softmax over 1000 classes would
put every value under the parity check's absolute tolerance. The ONNX graph is checked against
Keras with onnxruntime before anything is written.
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import bench_path, load_workloads, max_violation, prng_floats  # noqa: E402

import tensorflow as tf  # noqa: E402
import tf_keras  # noqa: E402

OPSET = 17
MODEL = "mobilenetv2"


def build(spec):
    tf_keras.utils.set_random_seed(224)
    inp = tf_keras.Input(tuple(spec["image"]), name="x")
    model = tf_keras.applications.MobileNetV2(input_tensor=inp, alpha=1.0, weights=None, classes=1000,
                                              classifier_activation=None)
    rng = np.random.default_rng(224)
    weights = []
    for v, w in zip(model.weights, model.get_weights()):
        name = v.name.split("/")[-1].split(":")[0]
        if "variance" in name:
            w = rng.uniform(0.5, 1.5, w.shape)
        elif name == "gamma":
            w = rng.uniform(0.7, 1.3, w.shape)
        elif name in ("beta", "moving_mean", "bias"):
            w = rng.standard_normal(w.shape) * 0.2
        weights.append(np.asarray(w, np.float32))
    model.set_weights(weights)
    return model


def mflop_per_sample(model):
    """2 FLOPs per multiply-add of the convolutions and the Dense layer (BatchNormalization,
    activations and additions not counted)."""
    total = 0
    for layer in model.layers:
        kind = layer.__class__.__name__
        if kind in ("Conv2D", "DepthwiseConv2D"):  # one multiply-add per kernel value and output position
            total += int(np.prod(layer.output.shape[1:3])) * layer.get_weights()[0].size
        elif kind == "Dense":
            total += layer.get_weights()[0].size
    return 2 * total / 1e6


def to_onnx(model, path):
    import onnx
    import tf2onnx
    from onnx import helper

    spec = (tf.TensorSpec((None, *model.input_shape[1:]), tf.float32, name="x"),)
    proto, _ = tf2onnx.convert.from_keras(model, input_signature=spec, opset=OPSET)
    # The harness feeds "x" and reads "y" (as for the other workloads' graphs).
    out = proto.graph.output[0]
    proto.graph.node.append(helper.make_node("Identity", [out.name], ["y"]))
    value = helper.make_tensor_value_info("y", out.type.tensor_type.elem_type, None)
    value.type.CopyFrom(out.type)
    proto.graph.output.remove(out)
    proto.graph.output.append(value)
    onnx.checker.check_model(proto)
    onnx.save(proto, path)


def main():
    import onnxruntime as ort

    spec = load_workloads()
    model_spec = spec["models"][MODEL]
    workloads = [w for w in spec["workloads"] if w["model"] == MODEL]
    os.makedirs(bench_path("models"), exist_ok=True)
    model = build(model_spec)
    print(f"MobileNetV2: {model.count_params()} parameters, {mflop_per_sample(model):.1f} MFLOP per image")
    model.save(bench_path(model_spec["keras"]), save_format="h5")
    with open(bench_path(model_spec["tfjs"]), "w") as f:
        f.write(model.to_json())
    to_onnx(model, bench_path(model_spec["onnx"]))

    reloaded = tf_keras.models.load_model(bench_path(model_spec["keras"]), compile=False)
    session = ort.InferenceSession(bench_path(model_spec["onnx"]), providers=["CPUExecutionProvider"])
    outputs = {}
    for w in workloads:
        shape = (w["batch"], *model_spec["image"])
        x = prng_floats(w["seed"], int(np.prod(shape))).reshape(shape)
        expected = reloaded.predict(x, batch_size=len(x), verbose=0)
        got = session.run(None, {"x": x})[0]
        diff = float(np.max(np.abs(got.astype(np.float64) - expected)))
        print(f"  {w['id']}: onnxruntime vs Keras max |diff| {diff:.1e}")
        if max_violation(got, expected) > 0:
            raise SystemExit(f"{w['id']}: the ONNX graph disagrees with Keras")
        outputs[w["id"]] = {"shape": list(expected.shape), "data": [float(v) for v in expected.reshape(-1)]}
    with open(bench_path(model_spec["generated"]["reference"]), "w") as f:
        json.dump({"note": f"predict of tf_keras {tf_keras.__version__} (TensorFlow {tf.__version__})",
                   "outputs": outputs}, f)
        f.write("\n")
    print(f"wrote bench/{model_spec['keras']}, .onnx, .tfjs.json and the reference")


if __name__ == "__main__":
    main()
