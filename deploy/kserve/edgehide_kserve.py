"""Serves an edgehide ONNX model with KServe's Python ModelServer (the Open
Inference Protocol v2 over REST and gRPC) through ONNX Runtime.

    python edgehide_kserve.py --model_name NAME --onnx model.onnx \
        [--http_port 8080] [--grpc_port 8081]

KServe's model metadata has no `parameters` field, so the model's sidecar is
not announced: clients bring it (edgehide's client checks the input tensor
the server names against its local sidecar). Binary tensor data works both
ways.
"""

import argparse
import os

# ONNX Runtime's usage telemetry off before it loads: a privacy product
# leaves no trail in the home folder.
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

import numpy as np  # noqa: E402
import onnxruntime as ort  # noqa: E402
from kserve import InferOutput, InferRequest, InferResponse, Model, ModelServer  # noqa: E402
from kserve import model_server  # noqa: E402


class EdgehideOnnx(Model):
    def __init__(self, name: str, onnx: str):
        super().__init__(name)
        self.onnx = onnx
        self.load()

    def load(self) -> bool:
        self.session = ort.InferenceSession(self.onnx, providers=["CPUExecutionProvider"])
        i, o = self.session.get_inputs()[0], self.session.get_outputs()[0]
        self.input_name, self.output_name = i.name, o.name
        self.input_shape = [-1] + [int(d) for d in i.shape[1:]]
        self.output_shape = [-1] + [int(d) for d in o.shape[1:]]
        self.ready = True
        return True

    def get_input_types(self):
        return [{"name": self.input_name, "datatype": "FP32", "shape": self.input_shape}]

    def get_output_types(self):
        return [{"name": self.output_name, "datatype": "FP32", "shape": self.output_shape}]

    async def predict(self, payload: InferRequest, headers=None, response_headers=None):
        x = payload.inputs[0].as_numpy().astype(np.float32, copy=False)
        if not np.isfinite(x).all():
            raise ValueError("input has non-finite values")
        (logits,) = self.session.run([self.output_name], {self.input_name: x})
        if not np.isfinite(logits).all():
            raise ValueError("the model produced non-finite scores")
        binary = payload.use_binary_outputs or any(
            o.binary_data for o in (payload.request_outputs or [])
        )
        out = InferOutput(name=self.output_name, shape=list(logits.shape), datatype="FP32")
        out.set_data_from_numpy(logits, binary_data=binary)
        return InferResponse(
            model_name=self.name,
            infer_outputs=[out],
            response_id=payload.id or "",
            use_binary_outputs=binary,
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(parents=[model_server.parser])
    parser.add_argument("--onnx", required=True, help="the model's ONNX file")
    args, _ = parser.parse_known_args()
    ModelServer().start([EdgehideOnnx(args.model_name, args.onnx)])
