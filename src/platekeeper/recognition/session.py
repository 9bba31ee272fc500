"""ONNX Runtime sessions for the model adapters: one thread count, lazy loading."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

DEFAULT_THREADS = 1
FloatArray = NDArray[np.float32]


def make_session(path: Path, threads: int | None) -> Any:
    import onnxruntime as ort  # imported lazily: only model adapters touch onnxruntime

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = max(1, threads or DEFAULT_THREADS)
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3
    return ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])


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
