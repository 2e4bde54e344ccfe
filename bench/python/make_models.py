"""Builds the benchmark's models with real Keras and writes everything `npm run bench` reads:

  bench/models/seed.keras          copy of examples/seed/model.keras (W1)
  bench/models/lstm128.keras       LSTM(128) -> Dense(1), input [batch, 50, 16] (W2, W3, W5, W6)
  bench/models/gru64x2.keras       GRU(64) -> GRU(64) -> Dense(1), reset_after=True, input [batch, 200, 8] (W4)
  bench/models/*.onnx              the same weights as ONNX graphs (LSTM / GRU operators)
  bench/models/lstm128_step_*.onnx one time step of lstm128 with (h, c) as inputs and outputs (W5),
                                   as MatMul/Sigmoid/Tanh operators (_cell) and as the LSTM operator
                                   over a sequence of 1 (_lstm)
  bench/references.json            Keras' model.predict for every workload's input

The ONNX graphs are checked against Keras with onnxruntime before anything is written.

  /path/to/venv/bin/python bench/python/make_models.py      (venv from bench/python/requirements.txt)
"""

import json
import os
import shutil
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import BENCH_DIR, bench_path, keras_file_weights, load_workloads, max_violation, workload_input  # noqa: E402

import keras  # noqa: E402
import onnx  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

REPO = os.path.dirname(BENCH_DIR)
OPSET = 17
IR_VERSION = 8  # onnxruntime 1.30 (node and web) reads IR 8 with opset 17


# ---------------------------------------------------------------------------
# Keras models
# ---------------------------------------------------------------------------


def randomize_biases(model, rng):
    """Keras initializes biases to zeros (forget gate: ones). Small random biases make the
    parity check catch a bias put in the wrong place (e.g. GRU's input vs recurrent bias)."""
    for layer in model.layers:
        weights = layer.get_weights()
        if not weights:
            continue
        weights[-1] = weights[-1] + rng.normal(0.0, 0.1, weights[-1].shape).astype(np.float32)
        layer.set_weights(weights)


def build_lstm128():
    keras.utils.set_random_seed(128)
    model = keras.Sequential([
        keras.Input((50, 16), name="x"),
        keras.layers.LSTM(128, name="lstm"),
        keras.layers.Dense(1, name="dense"),
    ], name="lstm128")
    randomize_biases(model, np.random.default_rng(128))
    return model


def build_gru64x2():
    keras.utils.set_random_seed(64)
    model = keras.Sequential([
        keras.Input((200, 8), name="x"),
        keras.layers.GRU(64, reset_after=True, return_sequences=True, name="gru"),
        keras.layers.GRU(64, reset_after=True, name="gru_1"),
        keras.layers.Dense(1, name="dense"),
    ], name="gru64x2")
    randomize_biases(model, np.random.default_rng(64))
    return model


# ---------------------------------------------------------------------------
# ONNX graphs, built from the Keras weights
# ---------------------------------------------------------------------------


def gate_blocks(matrix, units, order):
    """Columns of a Keras [rows, G*units] matrix, regrouped into the gate `order` (indices)."""
    return np.concatenate([matrix[..., g * units:(g + 1) * units] for g in order], axis=-1)


# Keras LSTM gates are i, f, c, o; ONNX's LSTM wants i, o, f, c.
LSTM_KERAS_TO_ONNX = [0, 3, 1, 2]


def lstm_onnx_weights(kernel, recurrent, bias, prefix):
    units = recurrent.shape[0]
    W = gate_blocks(kernel, units, LSTM_KERAS_TO_ONNX).T[None]          # [1, 4H, F]
    R = gate_blocks(recurrent, units, LSTM_KERAS_TO_ONNX).T[None]       # [1, 4H, H]
    B = np.concatenate([gate_blocks(bias, units, LSTM_KERAS_TO_ONNX), np.zeros(4 * units, np.float32)])[None]
    return units, [numpy_helper.from_array(a.astype(np.float32), f"{prefix}_{n}") for a, n in ((W, "W"), (R, "R"), (B, "B"))]


def gru_onnx_weights(kernel, recurrent, bias, prefix):
    """Keras GRU gates are z, r, h, as in ONNX. reset_after=True keeps an input and a recurrent bias
    ([2, 3H]); ONNX's B is [Wb, Rb] and linear_before_reset=1 gives the same formula."""
    units = recurrent.shape[0]
    W = kernel.T[None]
    R = recurrent.T[None]
    B = np.concatenate([bias[0], bias[1]])[None]
    return units, [numpy_helper.from_array(a.astype(np.float32), f"{prefix}_{n}") for a, n in ((W, "W"), (R, "R"), (B, "B"))]


def dense_nodes(kernel, bias, source, output):
    inits = [numpy_helper.from_array(kernel, "dense_W"), numpy_helper.from_array(bias, "dense_b")]
    nodes = [helper.make_node("MatMul", [source, "dense_W"], ["dense_mm"]), helper.make_node("Add", ["dense_mm", "dense_b"], [output])]
    return inits, nodes


def axes(name, values):
    return numpy_helper.from_array(np.array(values, dtype=np.int64), name)


def save_onnx(graph, path):
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="kerasless-bench")
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model)
    onnx.save(model, path)


def sequence_onnx(weights, kind, steps, features, path):
    """x [N, T, F] -> transpose to [T, N, F] -> recurrent layer(s) -> last h -> Dense."""
    inits = [axes("axis0", [0])] + ([axes("axis1", [1])] if len(weights) > 2 else [])
    nodes = [helper.make_node("Transpose", ["x"], ["x_tnf"], perm=[1, 0, 2])]
    source = "x_tnf"
    recurrent = weights[:-1]
    for i, (kernel, rec, bias) in enumerate(recurrent):
        prefix = f"rnn{i}"
        last = i == len(recurrent) - 1
        if kind == "lstm":
            units, ws = lstm_onnx_weights(kernel, rec, bias, prefix)
            op = dict(op_type="LSTM")
        else:
            units, ws = gru_onnx_weights(kernel, rec, bias, prefix)
            op = dict(op_type="GRU", linear_before_reset=1)
        inits += ws
        outputs = ["", f"{prefix}_h"] if last else [f"{prefix}_Y"]
        nodes.append(helper.make_node(inputs=[source, f"{prefix}_W", f"{prefix}_R", f"{prefix}_B"], outputs=outputs, hidden_size=units, **op))
        if last:
            nodes.append(helper.make_node("Squeeze", [f"{prefix}_h", "axis0"], [f"{prefix}_last"]))
            source = f"{prefix}_last"
        else:  # Y is [T, directions=1, N, H]
            nodes.append(helper.make_node("Squeeze", [f"{prefix}_Y", "axis1"], [f"{prefix}_seq"]))
            source = f"{prefix}_seq"
    dk, db = weights[-1]
    d_inits, d_nodes = dense_nodes(dk, db, source, "y")
    graph = helper.make_graph(
        nodes + d_nodes, f"{kind}_sequence",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", steps, features])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 1])],
        inits + d_inits,
    )
    save_onnx(graph, path)


def lstm_step_cell_onnx(weights, features, path):
    """One LSTM step as plain operators: z = [x, h]·[W; U] + b, gates split, new (h, c) returned."""
    (kernel, rec, bias), (dk, db) = weights
    units = rec.shape[0]
    stacked = np.concatenate([kernel, rec], axis=0).astype(np.float32)  # [F+H, 4H], Keras gate order i f c o
    inits = [numpy_helper.from_array(stacked, "WU"), numpy_helper.from_array(bias.astype(np.float32), "b"),
             axes("split", [units] * 4)]
    nodes = [
        helper.make_node("Concat", ["x", "h"], ["xh"], axis=1),
        helper.make_node("MatMul", ["xh", "WU"], ["z0"]),
        helper.make_node("Add", ["z0", "b"], ["z"]),
        helper.make_node("Split", ["z", "split"], ["zi", "zf", "zc", "zo"], axis=1),
        helper.make_node("Sigmoid", ["zi"], ["i"]),
        helper.make_node("Sigmoid", ["zf"], ["f"]),
        helper.make_node("Tanh", ["zc"], ["g"]),
        helper.make_node("Sigmoid", ["zo"], ["o"]),
        helper.make_node("Mul", ["f", "c"], ["fc"]),
        helper.make_node("Mul", ["i", "g"], ["ig"]),
        helper.make_node("Add", ["fc", "ig"], ["c_out"]),
        helper.make_node("Tanh", ["c_out"], ["tc"]),
        helper.make_node("Mul", ["o", "tc"], ["h_out"]),
    ]
    d_inits, d_nodes = dense_nodes(dk, db, "h_out", "y")
    graph = helper.make_graph(
        nodes + d_nodes, "lstm_step",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", features]),
         helper.make_tensor_value_info("h", TensorProto.FLOAT, ["N", units]),
         helper.make_tensor_value_info("c", TensorProto.FLOAT, ["N", units])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 1]),
         helper.make_tensor_value_info("h_out", TensorProto.FLOAT, ["N", units]),
         helper.make_tensor_value_info("c_out", TensorProto.FLOAT, ["N", units])],
        inits + d_inits,
    )
    save_onnx(graph, path)


def lstm_step_lstm_onnx(weights, features, path):
    """One LSTM step as the LSTM operator over a sequence of length 1, with initial_h/initial_c."""
    (kernel, rec, bias), (dk, db) = weights
    units, ws = lstm_onnx_weights(kernel, rec, bias, "rnn0")
    inits = ws + [axes("axis0", [0])]
    nodes = [
        helper.make_node("Unsqueeze", ["x", "axis0"], ["x1"]),
        helper.make_node("Unsqueeze", ["h", "axis0"], ["h1"]),
        helper.make_node("Unsqueeze", ["c", "axis0"], ["c1"]),
        helper.make_node("LSTM", ["x1", "rnn0_W", "rnn0_R", "rnn0_B", "", "h1", "c1"], ["", "h2", "c2"], hidden_size=units),
        helper.make_node("Squeeze", ["h2", "axis0"], ["h_out"]),
        helper.make_node("Squeeze", ["c2", "axis0"], ["c_out"]),
    ]
    d_inits, d_nodes = dense_nodes(dk, db, "h_out", "y")
    graph = helper.make_graph(
        nodes + d_nodes, "lstm_step_op",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", features]),
         helper.make_tensor_value_info("h", TensorProto.FLOAT, ["N", units]),
         helper.make_tensor_value_info("c", TensorProto.FLOAT, ["N", units])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 1]),
         helper.make_tensor_value_info("h_out", TensorProto.FLOAT, ["N", units]),
         helper.make_tensor_value_info("c_out", TensorProto.FLOAT, ["N", units])],
        inits + d_inits,
    )
    save_onnx(graph, path)


# ---------------------------------------------------------------------------


def check(label, got, expected):
    violation = max_violation(got, expected)
    status = "ok" if violation <= 0 else "DISAGREES"
    diff = float(np.max(np.abs(np.asarray(got, np.float64).reshape(-1) - np.asarray(expected, np.float64).reshape(-1))))
    print(f"  {label:<36} max |diff| {diff:.1e}  {status}")
    if violation > 0:
        raise SystemExit(f"{label} disagrees with Keras")


def main():
    import onnxruntime as ort

    spec = load_workloads()
    # Models too large to commit have their own generator (bench/python/make_mobilenet.py).
    models = {name: m for name, m in spec["models"].items() if "generated" not in m}
    os.makedirs(bench_path("models"), exist_ok=True)
    shutil.copyfile(os.path.join(REPO, "examples", "seed", "model.keras"), bench_path(models["seed"]["keras"]))
    build_lstm128().save(bench_path(models["lstm128"]["keras"]))
    build_gru64x2().save(bench_path(models["gru64x2"]["keras"]))

    # Everything below reads the saved files, as the benchmark does.
    keras_models = {name: keras.saving.load_model(bench_path(m["keras"]), compile=False) for name, m in models.items()}
    weights = {}
    for name, m in models.items():
        with open(bench_path(m["keras"]), "rb") as f:
            weights[name] = keras_file_weights(f.read(), m["layers"])
        flat = [w for layer in weights[name] for w in layer]
        for a, b in zip(flat, keras_models[name].get_weights()):
            assert np.array_equal(a, b), f"{name}: h5py weights differ from Keras' get_weights()"
    sequence_onnx(weights["seed"], "lstm", models["seed"]["steps"], models["seed"]["features"], bench_path(models["seed"]["onnx"]))
    sequence_onnx(weights["lstm128"], "lstm", 50, 16, bench_path(models["lstm128"]["onnx"]))
    sequence_onnx(weights["gru64x2"], "gru", 200, 8, bench_path(models["gru64x2"]["onnx"]))
    lstm_step_cell_onnx(weights["lstm128"], 16, bench_path(models["lstm128"]["onnxStep"]["cell"]))
    lstm_step_lstm_onnx(weights["lstm128"], 16, bench_path(models["lstm128"]["onnxStep"]["lstm-op"]))

    references = {"note": f"model.predict of Keras {keras.__version__} ({keras.backend.backend()} backend) on each workload's input", "outputs": {}}
    print("checking the ONNX graphs against Keras:")
    for w in (w for w in spec["workloads"] if w["model"] in models):
        x = workload_input(w, models)
        m = models[w["model"]]
        expected = keras_models[w["model"]].predict(x, batch_size=len(x), verbose=0)
        references["outputs"][w["id"]] = {"shape": list(expected.shape), "data": [float(v) for v in expected.reshape(-1)]}
        session = ort.InferenceSession(bench_path(m["onnx"]), providers=["CPUExecutionProvider"])
        check(f"{w['id']} {os.path.basename(m['onnx'])}", session.run(None, {"x": x})[0], expected)
        if w["kind"] == "stream":
            for path in (bench_path(p) for p in m["onnxStep"].values()):
                step = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
                units = 128
                h = np.zeros((1, units), np.float32)
                c = np.zeros((1, units), np.float32)
                for t in range(x.shape[1]):
                    y, h, c = step.run(None, {"x": x[:, t], "h": h, "c": c})
                check(f"{w['id']} {os.path.basename(path)} x{x.shape[1]} steps", y, expected)
    with open(bench_path("references.json"), "w") as f:
        json.dump(references, f)
        f.write("\n")
    print("wrote bench/models/ and bench/references.json")


if __name__ == "__main__":
    main()
