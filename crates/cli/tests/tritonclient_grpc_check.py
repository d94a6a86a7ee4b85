"""Drives an edgehide server's gRPC service with NVIDIA's tritonclient[grpc],
unchanged, and checks its answers against the same server's REST ones.

    python tests/tritonclient_grpc_check.py GRPC_HOST:PORT REST_HOST:PORT fashion-mnist-k4
"""
import json
import sys

import numpy as np
import tritonclient.grpc as grpc
import tritonclient.http as http
from tritonclient.utils import InferenceServerException

grpc_url, rest_url, name = sys.argv[1], sys.argv[2], sys.argv[3]
client = grpc.InferenceServerClient(url=grpc_url)
assert client.is_server_live() and client.is_server_ready()
assert client.is_model_ready(name)
assert not client.is_model_ready("nope")
meta = client.get_model_metadata(name, as_json=True)
inp, out = meta["inputs"][0], meta["outputs"][0]
assert [int(d) for d in inp["shape"][1:]] == [1, 28, 28], inp

rng = np.random.default_rng(0)
x = rng.standard_normal((3, 1, 28, 28)).astype(np.float32)
t = grpc.InferInput(inp["name"], list(x.shape), "FP32")
t.set_data_from_numpy(x)
r = client.infer(name, [t], outputs=[grpc.InferRequestedOutput(out["name"])], request_id="g-1")
y = r.as_numpy(out["name"])
assert y.shape == (3, 10) and y.dtype == np.float32, (y.shape, y.dtype)
assert r.get_response().id == "g-1"

rest = http.InferenceServerClient(url=rest_url)
h = http.InferInput(inp["name"], list(x.shape), "FP32")
h.set_data_from_numpy(x)
z = rest.infer(name, [h]).as_numpy(out["name"])
assert np.array_equal(y, z), (y, z)

# FP16 input.
t16 = grpc.InferInput(inp["name"], list(x.shape), "FP16")
t16.set_data_from_numpy(x.astype(np.float16))
y16 = client.infer(name, [t16]).as_numpy(out["name"])
assert np.allclose(y16, y, atol=0.05), (y16, y)

# Refusals come back as gRPC status codes with the same messages as REST.
def refused(inputs, model=name):
    try:
        client.infer(model, inputs)
    except InferenceServerException as e:
        return e.status(), e.message()
    raise SystemExit("accepted")

bad = grpc.InferInput(inp["name"], [1, 1, 28, 27], "FP32")
bad.set_data_from_numpy(np.zeros((1, 1, 28, 27), np.float32))
status, message = refused([bad])
assert status == "StatusCode.INVALID_ARGUMENT" and "does not match" in message, (status, message)
nan = grpc.InferInput(inp["name"], [1, 1, 28, 28], "FP32")
nan.set_data_from_numpy(np.full((1, 1, 28, 28), np.nan, np.float32))
status, message = refused([nan])
assert status == "StatusCode.INVALID_ARGUMENT" and "NaN" in message, (status, message)
huge = grpc.InferInput(inp["name"], [1, 1, 28, 28], "FP32")
huge.set_data_from_numpy(np.full((1, 1, 28, 28), 3e38, np.float32))
status, message = refused([huge])
assert status == "StatusCode.INVALID_ARGUMENT" and "outside" in message, (status, message)
many = grpc.InferInput(inp["name"], [65, 1, 28, 28], "FP32")
many.set_data_from_numpy(np.zeros((65, 1, 28, 28), np.float32))
status, message = refused([many])
assert status == "StatusCode.RESOURCE_EXHAUSTED" and "at most 64" in message, (status, message)
status, message = refused([t], model="nope")
assert status == "StatusCode.NOT_FOUND", (status, message)
print("tritonclient grpc: ok")
