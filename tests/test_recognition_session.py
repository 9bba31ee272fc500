"""Model loading: denormal weights are zeroed (on Intel CPUs they made the text detector four times slower)."""

from __future__ import annotations

import tempfile
import threading
from pathlib import Path

import numpy as np
import onnx
import pytest

from platekeeper.recognition.session import flush_denormals, make_session

DENORMAL = 1e-40  # below float32's smallest normal number, 1.18e-38


def _model(*tensors: onnx.TensorProto) -> onnx.ModelProto:
    """A model whose graph holds only the given initializers."""
    graph = onnx.helper.make_graph([], "g", [], [], initializer=list(tensors))
    return onnx.helper.make_model(graph, producer_name="test")


def _floats(name: str, values: list[float], raw: bool = True) -> onnx.TensorProto:
    """A float tensor stored as raw bytes or as the packed ``float_data`` field."""
    if raw:
        return onnx.numpy_helper.from_array(np.array(values, np.float32), name)
    return onnx.helper.make_tensor(name, onnx.TensorProto.FLOAT, [len(values)], values)


def _values(model: onnx.ModelProto) -> list[np.ndarray]:
    return [onnx.numpy_helper.to_array(t) for t in model.graph.initializer]


def test_denormal_float_weights_are_zeroed_raw_and_packed() -> None:
    values = [DENORMAL, 1.0, -DENORMAL, 0.0, 2.5e-38, -3.0]
    model = _model(_floats("w", values), _floats("p", values, raw=False))
    assert flush_denormals(model) == 4
    expected = np.array([0.0, 1.0, -0.0, 0.0, 2.5e-38, -3.0], np.float32)
    for got in _values(model):  # the raw tensor, then the packed one
        assert got.tobytes() == expected.tobytes()  # the sign of -0.0 is kept, byte for byte
    assert [t.name for t in model.graph.initializer] == ["w", "p"]
    assert flush_denormals(model) == 0


def test_other_tensors_are_left_alone() -> None:
    doubles = onnx.numpy_helper.from_array(np.array([DENORMAL, 1.0], np.float64), "d")
    normal = _floats("w", [0.5, -1.0, 0.0])
    model = _model(doubles, normal)
    before = model.SerializeToString()
    assert flush_denormals(model) == 0
    assert model.SerializeToString() == before


def _detector_model() -> bytes:
    from platekeeper.recognition.rapid import DET_MODEL, bundled_model_dir

    path = bundled_model_dir() / DET_MODEL
    if not path.is_file():
        pytest.skip("rapidocr's detector model is not installed")
    return path.read_bytes()


@pytest.mark.slow
def test_flushed_detector_keeps_its_output_and_has_no_denormal_left() -> None:
    """The bundled PP-OCR detector has denormal weights; zeroing them changes none of its output, in
    the caller's thread or another one, and leaves none behind. Whether that is faster depends on the
    CPU (Intel cores take a slow path on denormals, AMD Zen cores do not), so the time is measured by
    benchmarks/recognition.py, not here."""
    import onnxruntime as ort

    original = _detector_model()
    model = onnx.load_from_string(original)
    assert flush_denormals(model) > 100_000
    assert flush_denormals(model) == 0
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    plain = ort.InferenceSession(original, sess_options=opts, providers=["CPUExecutionProvider"])
    flushed = ort.InferenceSession(model.SerializeToString(), sess_options=opts, providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).uniform(-1, 1, (1, 3, 160, 224)).astype(np.float32)
    assert np.array_equal(plain.run(None, {"x": x})[0], flushed.run(None, {"x": x})[0])
    outputs: dict[str, np.ndarray] = {}
    worker = threading.Thread(target=lambda: outputs.update(plain=plain.run(None, {"x": x})[0],
                                                            flushed=flushed.run(None, {"x": x})[0]))
    worker.start()
    worker.join()
    assert np.array_equal(outputs["plain"], outputs["flushed"])
    assert outputs["flushed"].max() > 0.0  # a real probability map, not an empty output


@pytest.mark.slow
def test_sessions_load_fixed_models_and_plain_ones(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A fixed model goes through a temporary file, removed once loaded; a bad file fails as before."""
    from platekeeper.recognition.rapid import DET_MODEL, bundled_model_dir

    path = bundled_model_dir() / DET_MODEL
    if not path.is_file():
        pytest.skip("rapidocr's detector model is not installed")
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    session = make_session(path, 1)
    x = np.zeros((1, 3, 64, 64), np.float32)
    assert session.run(None, {"x": x})[0].shape == (1, 1, 64, 64)
    assert not list(scratch.iterdir())
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"\xff\xff\xff")
    with pytest.raises(Exception, match=r"(?i)protobuf|load|invalid|pars"):
        make_session(broken, 1)
