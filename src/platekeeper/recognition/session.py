"""ONNX Runtime sessions for the model adapters: one thread count, lazy loading.

Models are loaded with their *denormal* float32 weights set to zero (``flush_denormals``).
The PP-OCRv6 text detector shipped in the ``rapidocr`` wheel has about 256,000 of them (values
below 1.2e-38, left by training), nearly all in two 1x1 convolutions; Intel x86 CPUs compute with such
numbers up to a hundred times slower (AMD Zen cores have no such slow path), and those two layers took
about 95 ms of the detector's 130 ms per 640x480 image on the development machine. Zeroing them
leaves every output unchanged (each is below 1.2e-38) and makes the detector about four times
faster there. onnxruntime's own switch
(``session.set_denormal_as_zero``) only holds for the thread that created the first session in the
process, not for the worker threads that call the models, so the weights themselves are fixed (with
the ``onnx`` package) as the model is loaded. (Overriding just the affected tensors with
``SessionOptions.add_initializer`` has no effect on this model, presumably because the optimiser has
fused and re-laid out those tensors first.)
"""

from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

DEFAULT_THREADS = 1
FloatArray = NDArray[np.float32]


def flush_denormals(model: Any) -> int:
    """Sets every denormal float32 initializer value of an ``onnx.ModelProto`` to zero, in place;
    returns how many. A zeroed value keeps its sign; every other value is left as it is."""
    from onnx import TensorProto, numpy_helper

    flushed = 0
    for tensor in model.graph.initializer:
        if tensor.data_type != TensorProto.FLOAT:
            continue
        values = numpy_helper.to_array(tensor)
        denormal = (values != 0) & (np.abs(values) < np.finfo(np.float32).tiny)
        count = int(np.count_nonzero(denormal))
        if count:
            fixed = np.where(denormal, np.copysign(np.float32(0), values), values).astype(np.float32)
            tensor.CopyFrom(numpy_helper.from_array(fixed, tensor.name))
            flushed += count
    return flushed


def make_session(path: Path, threads: int | None) -> Any:
    import onnx  # imported lazily: only model adapters touch the model files
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = max(1, threads or DEFAULT_THREADS)
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3
    model = onnx.load(str(path))
    if not flush_denormals(model):
        return ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
    # The fixed model goes through a temporary file rather than as bytes: onnxruntime's Python
    # wrapper keeps model bytes for the session's lifetime (10-20 MB per model).
    fd, tmp = tempfile.mkstemp(prefix="platekeeper-", suffix=".onnx")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(model.SerializeToString())
        del model
        return ort.InferenceSession(tmp, sess_options=opts, providers=["CPUExecutionProvider"])
    finally:
        os.unlink(tmp)


class LazySession:
    """Loads an ONNX model on first use (loading costs time; nothing happens at import)."""

    def __init__(self, path: Path, threads: int | None) -> None:
        self.path = path
        self.threads = threads
        self._session: Any = None
        self._lock = threading.Lock()

    def get(self) -> Any:
        if self._session is None:
            with self._lock:
                if self._session is None:
                    self._session = make_session(self.path, self.threads)
        return self._session

    def run(self, x: FloatArray) -> FloatArray:
        session = self.get()
        name = session.get_inputs()[0].name
        out: FloatArray = session.run(None, {name: x})[0]
        return out
