"""W8's model as ONNX, the way a Keras user gets one: tf2onnx on the tf.keras form of the model.

ONNX has no ConvLSTM operator. tf2onnx converts the Keras RNN's TensorFlow while-loop into an ONNX
Loop whose body holds the step's Conv, gate and elementwise operators. The tf.keras (tf_keras)
model is built with the architecture of bench/python/make_convlstm.py and given the weights of
bench/models/convlstm2d.keras (read with h5py); the graph's input is renamed "x" and its output "y",
as the benchmark's other graphs. Where onnxruntime is installed, the graph is checked against
Keras' W8 reference before it is written.

  /work/venvs/onnx-tf/bin/python bench/python/convlstm_onnx.py     (TensorFlow 2, tf_keras, tf2onnx, h5py)
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import bench_path, keras_file_weights, load_workloads, max_violation, workload_input  # noqa: E402

import onnx  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf2onnx  # noqa: E402
import tf_keras  # noqa: E402

MODEL = "convlstm2d"
WORKLOAD = "W8"
OPSET = 17


def build(spec):
    layers = tf_keras.layers
    # tf_keras' ConvLSTM2D defaults to hard_sigmoid gates; Keras 3's (and the model's) are sigmoid.
    gates = dict(padding="same", recurrent_activation="sigmoid")
    return tf_keras.Sequential([
        tf_keras.Input((spec["steps"], *spec["stepShape"]), name="x"),
        layers.ConvLSTM2D(32, 3, return_sequences=True, name="convlstm_1", **gates),
        layers.ConvLSTM2D(32, 3, name="convlstm_2", **gates),
        layers.Conv2D(1, 1, activation="sigmoid", name="conv_head"),
        layers.AveragePooling2D(8, name="pool"),
        layers.Flatten(name="flatten"),
    ], name=MODEL)


def rename(graph, old, new):
    for node in graph.node:
        node.input[:] = [new if name == old else name for name in node.input]
        node.output[:] = [new if name == old else name for name in node.output]
    for value in list(graph.input) + list(graph.output):
        if value.name == old:
            value.name = new


def main():
    spec = load_workloads()
    models = spec["models"]
    model_spec = models[MODEL]
    with open(bench_path(model_spec["keras"]), "rb") as f:
        weights = keras_file_weights(f.read(), model_spec["layers"])
    model = build(model_spec)
    model.set_weights([w for layer in weights for w in layer])
    signature = (tf.TensorSpec((None, model_spec["steps"], *model_spec["stepShape"]), tf.float32, name="x"),)
    proto, _ = tf2onnx.convert.from_keras(model, input_signature=signature, opset=OPSET)
    rename(proto.graph, proto.graph.input[0].name, "x")
    rename(proto.graph, proto.graph.output[0].name, "y")
    onnx.checker.check_model(proto)
    ops = sorted({node.op_type for node in proto.graph.node})
    print(f"tf2onnx {tf2onnx.__version__} (TensorFlow {tf.__version__}): top-level operators {', '.join(ops)}")

    (workload,) = [w for w in spec["workloads"] if w["id"] == WORKLOAD]
    x = workload_input(workload, models)
    with open(bench_path("references.json")) as f:
        expected = np.asarray(json.load(f)["outputs"][WORKLOAD]["data"], np.float64)
    tf_keras_got = model.predict(x, batch_size=len(x), verbose=0)
    print(f"tf_keras vs Keras 3: max violation {max_violation(tf_keras_got, expected):.2e} (<= 0 agrees)")
    try:
        import onnxruntime as ort
    except ImportError:
        print("onnxruntime is not installed here: the graph is checked by `npm run bench` before timing")
    else:
        session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
        violation = max_violation(session.run(None, {"x": x})[0], expected)
        print(f"onnxruntime {ort.__version__} vs Keras 3: max violation {violation:.2e} (<= 0 agrees)")
        if violation > 0:
            raise SystemExit("the ONNX graph disagrees with Keras")
    onnx.save(proto, bench_path(model_spec["onnx"]))
    print(f"wrote {model_spec['onnx']} ({os.path.getsize(bench_path(model_spec['onnx'])) // 1024} KB)")


if __name__ == "__main__":
    main()
