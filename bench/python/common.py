"""Shared by the benchmark's Python side: workloads, inputs, weights read from .keras files.

Only numpy and h5py are needed here, so the NumPy contenders run without Keras.
"""

import io
import json
import os
import zipfile

import numpy as np

BENCH_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_workloads():
    with open(os.path.join(BENCH_DIR, "workloads.json")) as f:
        return json.load(f)


def bench_path(relative):
    return os.path.join(BENCH_DIR, relative)


def prng_floats(seed, count):
    """The benchmark's input numbers: a 32-bit LCG (Numerical Recipes constants) whose top 24 bits
    give k/2^23 - 1 in [-1, 1). Every value is exact in float32, and bench/inputs.ts computes the
    same sequence, so both languages feed identical inputs."""
    out = np.empty(count, dtype=np.float32)
    state = seed & 0xFFFFFFFF
    for i in range(count):
        state = (1664525 * state + 1013904223) & 0xFFFFFFFF
        out[i] = (state >> 8) / 8388608.0 - 1.0
    return out


def workload_input(workload, models):
    model = models[workload["model"]]
    step = tuple(model.get("stepShape", [model["features"]]))
    shape = (workload["batch"], model["steps"]) + step
    return prng_floats(workload["seed"], int(np.prod(shape))).reshape(shape)


def keras_file_weights(keras_bytes, layer_keys):
    """The weights of each layer, in Keras' order, read from a Keras 3 `.keras` archive with h5py.
    layer_keys are the archive's layer paths (e.g. ["lstm", "dense"])."""
    import h5py

    with zipfile.ZipFile(io.BytesIO(keras_bytes)) as archive:
        weights_bytes = archive.read("model.weights.h5")
    out = []
    with h5py.File(io.BytesIO(weights_bytes), "r") as f:
        for key in layer_keys:
            group = f["layers"][key]
            vars_group = group["cell"]["vars"] if "cell" in group else group["vars"]
            out.append([np.asarray(vars_group[str(i)], dtype=np.float32) for i in range(len(vars_group))])
    return out


def max_violation(got, expected):
    """Largest |got - expected| - (1e-5 + 1e-4 |expected|); <= 0 means every value agrees."""
    got = np.asarray(got, dtype=np.float64).reshape(-1)
    expected = np.asarray(expected, dtype=np.float64).reshape(-1)
    if got.shape != expected.shape:
        return float("inf")
    return float(np.max(np.abs(got - expected) - (1e-5 + 1e-4 * np.abs(expected))))
