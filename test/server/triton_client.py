"""Drives `kerasless serve` with Triton's own Python HTTP client (tritonclient[http]), unchanged.

Usage: python triton_client.py HOST:PORT FIXTURES_DIR. Prints one JSON object: what each call returned,
for test/server/triton.test.ts to compare with Keras' numbers (this script asserts nothing about values).
"""

import json
import sys
import urllib.request

import numpy as np
import tritonclient.http as httpclient


def fixture(path):
    with open(path) as f:
        return json.load(f)


def tensor(t, dtype):
    return np.array(t["data"], dtype=dtype).reshape(t["shape"])


def main():
    url, fixtures = sys.argv[1], sys.argv[2]
    client = httpclient.InferenceServerClient(url=url)
    out = {
        "live": client.is_server_live(),
        "ready": client.is_server_ready(),
        "model_ready": client.is_model_ready("seed"),
        "server": client.get_server_metadata(),
        "metadata": client.get_model_metadata("multi_io"),
    }

    seed = fixture(f"{fixtures}/seed/io.json")
    x = tensor(seed["inputs"][0], np.float32)
    for binary in (True, False):
        inp = httpclient.InferInput("input_layer", list(x.shape), "FP32")
        inp.set_data_from_numpy(x, binary_data=binary)
        wanted = [httpclient.InferRequestedOutput("dense", binary_data=binary)]
        result = client.infer("seed", [inp], outputs=wanted, request_id="r1")
        out[f"seed_binary_{str(binary).lower()}"] = result.as_numpy("dense").tolist()
    # Defaults all the way: binary inputs, outputs as the server sends them.
    inp = httpclient.InferInput("input_layer", list(x.shape), "FP32")
    inp.set_data_from_numpy(x)
    out["seed_defaults"] = client.infer("seed", [inp]).as_numpy("dense").tolist()

    multi = fixture(f"{fixtures}/keras3/multi_io/io.json")
    inputs = []
    for t in multi["inputs"]:
        inp = httpclient.InferInput(t["name"], t["shape"], "FP32")
        inp.set_data_from_numpy(tensor(t, np.float32))
        inputs.append(inp)
    result = client.infer("multi_io", inputs)
    out["multi_io"] = {name: result.as_numpy(name).tolist() for name in ("head_a", "head_b")}

    emb = fixture(f"{fixtures}/keras3/embedding_lstm/io.json")
    tokens = tensor(emb["inputs"][0], np.int64)
    inp = httpclient.InferInput("tokens", list(tokens.shape), "INT64")
    inp.set_data_from_numpy(tokens)
    out["embedding"] = client.infer("embedding", [inp]).as_numpy("dense").tolist()

    try:
        inp = httpclient.InferInput("input_layer", [1, 4, 3], "FP32")
        inp.set_data_from_numpy(np.zeros((1, 4, 3), np.float32))
        client.infer("nope", [inp])
        out["unknown_model_error"] = None
    except Exception as e:  # tritonclient raises InferenceServerException with the server's message
        out["unknown_model_error"] = str(e)

    # TensorFlow Serving's REST docs' request body (row format with a signature name), sent as it is.
    body = json.dumps({"signature_name": "serving_default", "instances": x.tolist()}).encode()
    req = urllib.request.Request(f"http://{url}/v1/models/seed:predict", data=body, method="POST")
    with urllib.request.urlopen(req) as res:
        out["v1_predictions"] = json.load(res)["predictions"]

    print(json.dumps(out))


if __name__ == "__main__":
    main()
