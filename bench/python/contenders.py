"""The benchmark's Python contenders, one per process (like bench/worker.ts for JavaScript):

  python bench/python/contenders.py <numpy-seed|numpy-batched|keras> <result.json> [--quick] [--workloads W1,W2]

numpy-seed     the seed article's loop: one window at a time, one time step at a time, each gate
               with its own slices of the weights (x·W_i + h·U_i + b_i, ...). Needs numpy + h5py.
numpy-batched  the same cells vectorised over the batch, with the input projection x·W of all
               time steps as one matrix product before the loop. Needs numpy + h5py.
keras          Keras 3 model.predict(x, batch_size=len(x)) on the .keras file.

Every workload's output is checked against Keras' reference (bench/references.json) before it is
timed. The result file holds {describe, results: {W1: {median_ms, min_ms, ...} | {skipped} | {error}}}.
"""

import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import bench_path, keras_file_weights, load_workloads, max_violation, workload_input  # noqa: E402

QUICK = dict(warmup_ms=100, budget_ms=400, min_samples=3, max_samples=200, sample_ms=2, long_call_ms=1500)
FULL = dict(warmup_ms=500, budget_ms=5000, min_samples=5, max_samples=1000, sample_ms=10, long_call_ms=float("inf"))


def measure(call, options):
    """Same procedure as bench/lib/timing.ts: warm up, group fast calls into samples, median/min."""
    start = time.perf_counter()
    call()
    per_call = (time.perf_counter() - start) * 1e3
    if per_call > options["long_call_ms"]:
        return dict(median_ms=per_call, min_ms=per_call, samples=1, reps=1)
    while (time.perf_counter() - start) * 1e3 < options["warmup_ms"]:
        t0 = time.perf_counter()
        call()
        per_call = min(per_call, (time.perf_counter() - t0) * 1e3)
    reps = max(1, int(np.ceil(options["sample_ms"] / max(per_call, 1e-4))))
    samples = []
    start = time.perf_counter()
    while len(samples) < options["min_samples"] or (
        len(samples) < options["max_samples"] and (time.perf_counter() - start) * 1e3 < options["budget_ms"]
    ):
        t0 = time.perf_counter()
        for _ in range(reps):
            call()
        samples.append((time.perf_counter() - t0) * 1e3 / reps)
    return dict(median_ms=float(np.median(samples)), min_ms=float(min(samples)), samples=len(samples), reps=reps)


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


# ---------------------------------------------------------------------------
# NumPy cells
# ---------------------------------------------------------------------------


def split_gates(matrix, count):
    units = matrix.shape[-1] // count
    return [matrix[..., g * units:(g + 1) * units] for g in range(count)]


class SeedLoop:
    """The seed article's loop: per window, per step, per gate."""

    def __init__(self, weights):
        *recurrent, (self.Wd, self.bd) = weights
        self.cells = []
        for kernel, rec, bias in recurrent:
            if bias.ndim == 2:  # GRU reset_after: [input bias, recurrent bias]
                self.cells.append(("gru", split_gates(kernel, 3), split_gates(rec, 3), split_gates(bias[0], 3), split_gates(bias[1], 3)))
            else:
                self.cells.append(("lstm", split_gates(kernel, 4), split_gates(rec, 4), split_gates(bias, 4)))

    @staticmethod
    def lstm_step(x_t, h, c, W, U, b):
        W_i, W_f, W_c, W_o = W
        U_i, U_f, U_c, U_o = U
        b_i, b_f, b_c, b_o = b
        i = sigmoid(x_t @ W_i + h @ U_i + b_i)
        f = sigmoid(x_t @ W_f + h @ U_f + b_f)
        g = np.tanh(x_t @ W_c + h @ U_c + b_c)
        o = sigmoid(x_t @ W_o + h @ U_o + b_o)
        c = f * c + i * g
        h = o * np.tanh(c)
        return h, c

    @staticmethod
    def gru_step(x_t, h, W, U, b, rb):
        W_z, W_r, W_h = W
        U_z, U_r, U_h = U
        b_z, b_r, b_h = b
        rb_z, rb_r, rb_h = rb
        z = sigmoid(x_t @ W_z + b_z + h @ U_z + rb_z)
        r = sigmoid(x_t @ W_r + b_r + h @ U_r + rb_r)
        hh = np.tanh(x_t @ W_h + b_h + r * (h @ U_h + rb_h))
        return z * h + (1 - z) * hh

    def predict_window(self, window):
        sequence = window
        for cell in self.cells:
            units = cell[2][0].shape[0]
            h = np.zeros(units, np.float32)
            c = np.zeros(units, np.float32)
            outputs = []
            for x_t in sequence:
                if cell[0] == "lstm":
                    h, c = self.lstm_step(x_t, h, c, *cell[1:])
                else:
                    h = self.gru_step(x_t, h, *cell[1:])
                outputs.append(h)
            sequence = outputs
        return h @ self.Wd + self.bd

    def predict(self, x):
        return np.stack([self.predict_window(window) for window in x])

    def stream(self, batch):
        """A streaming state for a single-LSTM model: step(x_t) for x_t of shape [batch, features]."""
        (kind, W, U, b), = self.cells
        units = U[0].shape[0]
        state = [np.zeros((batch, units), np.float32), np.zeros((batch, units), np.float32)]

        def step(x_t):
            state[0], state[1] = self.lstm_step(x_t, state[0], state[1], W, U, b)
            return state[0] @ self.Wd + self.bd

        return step


class Batched:
    """The cells vectorised over the batch: one matrix product per step for all gates."""

    def __init__(self, weights):
        *self.recurrent, (self.Wd, self.bd) = weights

    def predict(self, x):
        sequence = x
        for kernel, rec, bias in self.recurrent:
            batch, steps, features = sequence.shape
            units = rec.shape[0]
            gru = bias.ndim == 2
            input_bias = bias[0] if gru else bias
            xw = (sequence.reshape(batch * steps, features) @ kernel + input_bias).reshape(batch, steps, -1)
            h = np.zeros((batch, units), np.float32)
            c = np.zeros((batch, units), np.float32)
            outputs = np.empty((batch, steps, units), np.float32)
            for t in range(steps):
                if gru:
                    h = self.gru_step(xw[:, t], h, rec, bias[1], units)
                else:
                    h, c = self.lstm_step(xw[:, t], h, c, rec, units)
                outputs[:, t] = h
            sequence = outputs
        return h @ self.Wd + self.bd

    @staticmethod
    def lstm_step(xw_t, h, c, rec, units):
        z = xw_t + h @ rec
        i = sigmoid(z[:, :units])
        f = sigmoid(z[:, units:2 * units])
        g = np.tanh(z[:, 2 * units:3 * units])
        o = sigmoid(z[:, 3 * units:])
        c = f * c + i * g
        return o * np.tanh(c), c

    @staticmethod
    def gru_step(xw_t, h, rec, rec_bias, units):
        hu = h @ rec + rec_bias
        z = sigmoid(xw_t[:, :units] + hu[:, :units])
        r = sigmoid(xw_t[:, units:2 * units] + hu[:, units:2 * units])
        hh = np.tanh(xw_t[:, 2 * units:] + r * hu[:, 2 * units:])
        return z * h + (1 - z) * hh

    def stream(self, batch):
        (kernel, rec, bias), = self.recurrent
        units = rec.shape[0]
        state = [np.zeros((batch, units), np.float32), np.zeros((batch, units), np.float32)]

        def step(x_t):
            state[0], state[1] = self.lstm_step(x_t @ kernel + bias, state[0], state[1], rec, units)
            return state[0] @ self.Wd + self.bd

        return step


# ---------------------------------------------------------------------------
# Contenders: prepare(workload) -> (check, run, extra) or {"skipped": why}
# ---------------------------------------------------------------------------


def numpy_contender(cls):
    def read_bytes(path):
        with open(path, "rb") as f:
            return f.read()

    def describe():
        info = {"numpy": np.__version__}
        try:
            from threadpoolctl import threadpool_info
            pools = threadpool_info()
            # Matrix products run in the BLAS library's threads; the rest of NumPy runs in one.
            info["threads"] = max((p.get("num_threads", 1) for p in pools), default=1)
            info["blas"] = ", ".join(f"{p.get('internal_api')} {p.get('version')} ({p.get('architecture')} kernels)" for p in pools)
        except ImportError:
            info["threads"] = "unknown (threadpoolctl not installed)"
        return info

    def prepare(w, models):
        spec = models[w["model"]]
        if any(layer["cell"] not in ("lstm", "gru") for layer in spec["recurrent"]):
            return {"skipped": "the NumPy loops implement LSTM and GRU cells only"}
        x = workload_input(w, models)
        file_bytes = read_bytes(bench_path(spec["keras"]))
        if w["kind"] == "coldload":
            # .keras bytes -> zip -> model.weights.h5 (h5py) -> weights -> prediction
            def cold():
                return cls(keras_file_weights(file_bytes, spec["layers"])).predict(x)
            return cold, cold, {}
        model = cls(keras_file_weights(file_bytes, spec["layers"]))
        if w["kind"] == "stream":
            steps = [np.ascontiguousarray(x[:, t]) for t in range(x.shape[1])]
            live = model.stream(x.shape[0])
            position = [0]

            def check():
                fresh = model.stream(x.shape[0])
                for x_t in steps:
                    y = fresh(x_t)
                return y

            def run():
                live(steps[position[0]])
                position[0] = (position[0] + 1) % len(steps)

            return check, run, {"mode": "stream"}

        def predict():
            return model.predict(x)

        return predict, predict, {}

    return describe, prepare


def keras_contender():
    import keras
    import tensorflow as tf

    def describe():
        return {
            "keras": keras.__version__,
            "backend": f"{keras.backend.backend()} {tf.__version__}",
            "threads": tf.config.threading.get_intra_op_parallelism_threads() or os.cpu_count(),
            "config": "model.predict(x, batch_size=len(x), verbose=0); TensorFlow's default thread pools (intra-op = cores)",
        }

    loaded = {}

    def prepare(w, models):
        spec = models[w["model"]]
        x = workload_input(w, models)
        if w["kind"] == "coldload":
            # keras.saving.load_model takes a path (a file object fails in its path checks); the
            # file is in the page cache after the first read.
            path = bench_path(spec["keras"])

            def cold():
                model = keras.saving.load_model(path, compile=False)
                return model.predict(x, batch_size=len(x), verbose=0)

            return cold, cold, {"note": "load_model(path): Keras reads files by path"}
        if spec["keras"] not in loaded:
            loaded[spec["keras"]] = keras.saving.load_model(bench_path(spec["keras"]), compile=False)
        model = loaded[spec["keras"]]
        if w["kind"] == "stream":
            # Keras streams with stateful=True RNNs and a fixed batch: one predict() per step.
            batch, steps_count, features = x.shape
            layers = []
            for layer in model.layers:
                config = layer.get_config()
                if isinstance(layer, keras.layers.RNN):
                    config["stateful"] = True
                layers.append(type(layer).from_config(config))
            stateful = keras.Sequential([keras.Input(batch_shape=(batch, 1, features))] + layers)
            stateful.set_weights(model.get_weights())
            steps = [np.ascontiguousarray(x[:, t:t + 1]) for t in range(steps_count)]
            position = [0]

            def reset():
                for layer in stateful.layers:
                    if getattr(layer, "stateful", False):
                        layer.reset_states()

            def check():
                reset()
                for x_t in steps:
                    y = stateful.predict(x_t, batch_size=batch, verbose=0)
                return y

            def run():
                stateful.predict(steps[position[0]], batch_size=batch, verbose=0)
                position[0] = (position[0] + 1) % len(steps)

            return check, run, {"mode": "stream", "note": "stateful=True LSTM, batch_shape [1, 1, 16], one predict() per step"}

        def predict():
            return model.predict(x, batch_size=len(x), verbose=0)

        return predict, predict, {}

    return describe, prepare


def main():
    contender_id, out_file, *flags = sys.argv[1:]
    quick = "--quick" in flags
    only = flags[flags.index("--workloads") + 1].split(",") if "--workloads" in flags else None
    spec = load_workloads()
    references = json.load(open(bench_path("references.json")))["outputs"]
    results = {}
    try:
        if contender_id == "numpy-seed":
            describe, prepare = numpy_contender(SeedLoop)
        elif contender_id == "numpy-batched":
            describe, prepare = numpy_contender(Batched)
        elif contender_id == "keras":
            describe, prepare = keras_contender()
        else:
            raise SystemExit(f"unknown contender {contender_id}")
        info = describe()
        for w in spec["workloads"]:
            if only is not None and w["id"] not in only:
                continue
            try:
                prepared = prepare(w, spec["models"])
                if isinstance(prepared, dict):
                    results[w["id"]] = prepared
                    continue
                check, run, extra = prepared
                start = time.perf_counter()
                got = check()
                first_ms = (time.perf_counter() - start) * 1e3
                expected = np.asarray(references[w["id"]]["data"], np.float64)
                violation = max_violation(got, expected)
                max_diff = float(np.max(np.abs(np.asarray(got, np.float64).reshape(-1) - expected))) if np.size(got) == expected.size else float("inf")
                if not violation <= 0:
                    results[w["id"]] = {"error": f"output disagrees with Keras (max |diff| {max_diff:.2e})"}
                    continue
                timing = measure(run, QUICK if quick else FULL)
                results[w["id"]] = {**timing, "max_abs_diff": max_diff, **({"first_ms": first_ms} if w["kind"] == "coldload" else {}), **extra}
            except Exception as e:  # reported in the result file, next workload goes on
                results[w["id"]] = {"error": f"{type(e).__name__}: {e}"}
    except Exception as e:
        info = {"error": f"{type(e).__name__}: {e}"}
    with open(out_file, "w") as f:
        json.dump({"describe": info, "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
