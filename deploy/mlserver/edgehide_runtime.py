"""An MLServer runtime that serves an edgehide ONNX model through ONNX Runtime
and announces the model's edgehide sidecar in its metadata, so that
edgehide's client checks the server's encryption before sending anything.

model-settings.json (written by `edgehide export --mlserver DIR`):

    {"name": "fashion-mnist-k4",
     "implementation": "edgehide_runtime.EdgehideOnnx",
     "parameters": {"uri": "./model.onnx", "version": "1"}, ...}

The sidecar is `model.json` beside `model.onnx`. MLServer takes JSON tensors
only (its REST endpoint refuses the binary tensor extension); edgehide's
client finds that out at connect and sends JSON.
"""

import json
import os

# ONNX Runtime's usage telemetry off before it loads: a privacy product
# leaves no trail in the home folder.
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

import numpy as np  # noqa: E402
import onnxruntime as ort  # noqa: E402
from mlserver import MLModel  # noqa: E402
from mlserver.codecs import NumpyCodec  # noqa: E402
from mlserver.types import (  # noqa: E402
    InferenceRequest,
    InferenceResponse,
    MetadataModelResponse,
    Parameters,
)
from mlserver.utils import get_model_uri  # noqa: E402


class EdgehideOnnx(MLModel):
    async def load(self) -> bool:
        path = await get_model_uri(self.settings)
        self._session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        self._input = self._session.get_inputs()[0].name
        self._output = self._session.get_outputs()[0].name
        with open(os.path.splitext(path)[0] + ".json", encoding="utf-8") as f:
            spec = json.load(f)
        self._spec = json.dumps(spec, sort_keys=True)
        self._scheme = spec.get("scheme", "instahide")
        return True

    async def metadata(self) -> MetadataModelResponse:
        meta = await super().metadata()
        meta.parameters = Parameters(scheme=self._scheme, edgehide_spec=self._spec)
        return meta

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        x = NumpyCodec.decode_input(payload.inputs[0]).astype(np.float32, copy=False)
        if not np.isfinite(x).all():
            raise ValueError("input has non-finite values")
        (logits,) = self._session.run([self._output], {self._input: x})
        if not np.isfinite(logits).all():
            raise ValueError("the model produced non-finite scores")
        return InferenceResponse(
            model_name=self.name,
            id=payload.id,
            outputs=[NumpyCodec.encode_output(self._output, logits)],
        )
