"""The Python peer a user might pick instead of edgehide's server: FastAPI +
onnxruntime serving the same ONNX model on the same Open Inference Protocol
route (binary tensor data extension in and out), one request per run call.

    .venv/bin/python benches/peer_fastapi.py models/fashion-mnist-k4.onnx 8001

Run by `cargo bench --bench serve`; prints "ready" when it listens.
"""
import json
import sys

import numpy as np
import onnxruntime as ort
import uvicorn
from fastapi import FastAPI, Request, Response
from starlette.concurrency import run_in_threadpool

model_path, port = sys.argv[1], int(sys.argv[2])
opts = ort.SessionOptions()
opts.intra_op_num_threads = 2
session = ort.InferenceSession(model_path, opts, providers=["CPUExecutionProvider"])
inp, out = session.get_inputs()[0], session.get_outputs()[0]
app = FastAPI()

DTYPES = {"FP32": np.float32, "FP16": np.float16}


@app.get("/v2/health/ready")
def ready():
    return {"ready": True}


@app.post("/v2/models/{name}/infer")
async def infer(name: str, request: Request):
    body = await request.body()
    n = request.headers.get("inference-header-content-length")
    head = json.loads(body[: int(n)] if n else body)
    t = head["inputs"][0]
    if n:
        x = np.frombuffer(body[int(n):], dtype=DTYPES[t["datatype"]])
    else:
        x = np.asarray(t["data"], dtype=DTYPES[t["datatype"]])
    x = x.astype(np.float32).reshape(t["shape"])
    # onnxruntime releases the GIL: run it off the event loop, as FastAPI's
    # documentation advises for blocking calls.
    y = (await run_in_threadpool(session.run, [out.name], {inp.name: x}))[0].astype(np.float32)
    entry = {"name": out.name, "datatype": "FP32", "shape": list(y.shape)}
    if n:
        raw = y.tobytes()
        entry["parameters"] = {"binary_data_size": len(raw)}
        h = json.dumps({"model_name": name, "outputs": [entry]}).encode()
        return Response(h + raw, media_type="application/octet-stream",
                        headers={"inference-header-content-length": str(len(h))})
    entry["data"] = y.ravel().tolist()
    return {"model_name": name, "outputs": [entry]}


if __name__ == "__main__":
    print("ready", flush=True)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
