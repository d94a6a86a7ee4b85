"""Drives an edgehide server with NVIDIA's tritonclient[http], unchanged.

    python tests/tritonclient_check.py 127.0.0.1:8000 fashion-mnist-k4
"""
import json
import sys

import numpy as np
import tritonclient.http as http
from tritonclient.utils import InferenceServerException

url, name = sys.argv[1], sys.argv[2]
client = http.InferenceServerClient(url=url)
assert client.is_server_live() and client.is_server_ready()
assert client.is_model_ready(name)
meta = client.get_model_metadata(name)
inp, out = meta["inputs"][0], meta["outputs"][0]
assert inp["shape"][1:] == [1, 28, 28], inp
params = meta["parameters"]
spec = json.loads(params["edgehide_spec"])
assert params["k"] == spec["encryption"]["k"]

rng = np.random.default_rng(0)
x = rng.standard_normal((3, 1, 28, 28)).astype(np.float32)
results = []
for binary in (True, False):
    t = http.InferInput(inp["name"], list(x.shape), "FP32")
    t.set_data_from_numpy(x, binary_data=binary)
    want = http.InferRequestedOutput(out["name"], binary_data=binary)
    r = client.infer(name, [t], outputs=[want], request_id="tc-1")
    y = r.as_numpy(out["name"])
    assert y.shape == (3, 10) and y.dtype == np.float32, (y.shape, y.dtype)
    assert r.get_response()["id"] == "tc-1"
    results.append(y)
assert np.allclose(results[0], results[1], rtol=1e-5, atol=1e-6), results

# FP16 input, binary.
t = http.InferInput(inp["name"], list(x.shape), "FP16")
t.set_data_from_numpy(x.astype(np.float16))
y16 = client.infer(name, [t]).as_numpy(out["name"])
assert np.allclose(y16, results[0], atol=0.05), (y16, results[0])

# Errors come back as the protocol's JSON errors.
bad = http.InferInput(inp["name"], [1, 1, 28, 27], "FP32")
bad.set_data_from_numpy(np.zeros((1, 1, 28, 27), np.float32))
try:
    client.infer(name, [bad])
    raise SystemExit("a wrong shape was accepted")
except InferenceServerException as e:
    assert "does not match" in str(e), e
print("tritonclient: ok")
