"""Quantize rapidocr's text detector to int8 (an experiment: the pipeline does not ship the result).

    python scripts/build_text_detector.py --out /tmp/text_detector_int8.onnx

The result was measured against the float model (docs/recognition.md, "What made it faster, and what
did not"): 13% less CPU per image, the same top-1 on the dev-train half, but two plates fewer on the
dev-holdout half, so the pipeline keeps the float model. The script stays so that the measurement
can be repeated (and the recipe reused for a plate-specific detector).

Source: ``PP-OCRv6_det_small.onnx`` from the installed ``rapidocr`` wheel (PaddleOCR's PP-OCRv6 small
text detector, Apache-2.0). Steps, all deterministic:

1. denormal float32 weights are set to zero (``platekeeper.recognition.session.flush_denormals``; they
   make x86 CPUs crawl and contribute nothing) and the graph is converted from opset 11 to 17
   (per-channel ``DequantizeLinear`` needs opset 13 or later);
2. onnxruntime's ``quant_pre_process`` (graph optimisation; symbolic shape inference skipped, it
   fails on this graph);
3. onnxruntime's static quantization, QDQ format: weights int8 per output channel (symmetric),
   activations uint8 (asymmetric, min/max calibration), for Conv, Add, Mul, Concat, Resize, MaxPool,
   GlobalAveragePool and Relu (onnxruntime then runs them as QLinear* kernels, with VNNI where the
   CPU has it; GELU's Erf and Div stay float32).

Calibration images (never the dev-holdout half of ucsd-stills, never the OpenALPR benchmark, never
us-plate-crops): the ucsd-stills "dev-train" half (``sha1(plate) mod 2 == 0``, ``training/data.py``)
at both input sizes the pipeline uses (480 and 800 px), darkened and grey ("night" and "IR") copies
of them at 480 px, and the project's own synthetic demo scenes (``src/platekeeper/demo/assets``) at
both sizes.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the training package: the ucsd-stills split lives there

from training import data  # noqa: E402

from platekeeper.demo.scenes import ASSETS_DIR  # noqa: E402
from platekeeper.recognition.rapid import DET_MODEL, RapidDetector, bundled_model_dir  # noqa: E402
from platekeeper.recognition.session import flush_denormals  # noqa: E402

SIDES = (480, 800)  # the first pass and the fallback pass of pipeline.default_recognizer
OPSET = 17
QUANTIZED_OPS = ["Conv", "Add", "Mul", "Concat", "Resize", "MaxPool", "GlobalAveragePool", "Relu"]


def _night(image: np.ndarray) -> np.ndarray:
    """A darker, lower-contrast copy (evening light)."""
    x = (image.astype(np.float32) / 255.0) ** 1.8 * 0.6
    return np.asarray(np.clip(x * 255.0, 0, 255), dtype=np.uint8)


def _infrared(image: np.ndarray) -> np.ndarray:
    """A grey, high-contrast copy (an IR camera at night)."""
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    grey = cv2.equalizeHist(grey)
    return np.asarray(cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR), dtype=np.uint8)


def calibration_inputs() -> Iterator[np.ndarray]:
    # the input sizes of pipeline.default_recognizer's two passes (preprocessing only: no model runs)
    detectors = {
        480: RapidDetector(1, max_side=480, min_side=320),
        800: RapidDetector(1, max_side=800, min_side=800),
    }
    train = [path for path, plate, _ in data.still_rows() if data.stills_trained_on(plate)]
    if not train:
        raise SystemExit(f"no dev-train images found under {data.STILLS}")
    scenes = sorted(ASSETS_DIR.glob("*.jpg"))
    for i, path in enumerate(train):
        image = cv2.imread(str(path))
        for side in SIDES:
            yield detectors[side].preprocess(image)
        variant = _night(image) if i % 2 == 0 else _infrared(image)
        yield detectors[480].preprocess(variant)
    for path in scenes:
        image = cv2.imread(str(path))
        for side in SIDES:
            yield detectors[side].preprocess(image)


def build(out: Path) -> None:
    import onnx
    from onnx import version_converter
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    source = bundled_model_dir() / DET_MODEL
    original = source.read_bytes()
    flushed = onnx.load_from_string(original)
    n = flush_denormals(flushed)
    print(f"source {source} (sha1 {hashlib.sha1(original).hexdigest()}), {n} denormal weights zeroed")
    model = version_converter.convert_version(flushed, OPSET)

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self._inputs = calibration_inputs()
            self.count = 0

        def get_next(self) -> dict[str, np.ndarray] | None:
            x = next(self._inputs, None)
            if x is None:
                return None
            self.count += 1
            return {"x": x}

    with tempfile.TemporaryDirectory() as tmp:
        fp32, pre = Path(tmp) / "fp32.onnx", Path(tmp) / "pre.onnx"
        onnx.save(model, fp32)
        quant_pre_process(str(fp32), str(pre), skip_symbolic_shape=True)
        reader = Reader()
        out.parent.mkdir(parents=True, exist_ok=True)
        quantize_static(
            str(pre),
            str(out),
            reader,
            quant_format=QuantFormat.QDQ,
            op_types_to_quantize=QUANTIZED_OPS,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.MinMax,
            extra_options={"ActivationSymmetric": False, "WeightSymmetric": True, "CalibMaxIntermediateOutputs": 8},
        )
    digest = hashlib.sha1(out.read_bytes()).hexdigest()
    print(f"calibrated on {reader.count} inputs; wrote {out} ({out.stat().st_size} bytes, sha1 {digest})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    cv2.setNumThreads(1)
    build(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
