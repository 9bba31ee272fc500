"""Export a checkpoint to the ONNX model the package ships, and check it against PyTorch.

    python -m training.export [--checkpoint training/checkpoints/last.pt] [--out PATH]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from platekeeper.recognition.plate_reader import MODEL_PATH
from training.model import WithSoftmax, from_checkpoint, input_shape
from training.train import CHECKPOINTS


def export(checkpoint: Path, out: Path) -> None:
    model, state = from_checkpoint(checkpoint)
    wrapped = WithSoftmax(model).eval()
    x = torch.randn(*input_shape(2))
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(
        wrapped, (x,), str(out), input_names=["image"], output_names=["probs"],
        dynamic_axes={"image": {0: "batch"}, "probs": {0: "batch"}}, opset_version=17, dynamo=False,
    )
    import onnx

    m = onnx.load(str(out))
    meta = m.metadata_props.add()
    meta.key, meta.value = "step", str(state.get("step", ""))
    onnx.save(m, str(out))
    import onnxruntime as ort

    sess = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    got = sess.run(None, {"image": x.numpy()})[0]
    with torch.no_grad():
        want = wrapped(x).numpy()
    err = float(np.abs(got - want).max())
    print(f"exported {out} ({out.stat().st_size / 1e6:.2f} MB), step {state.get('step')}, max diff {err:.2e}")
    if err > 1e-3:
        raise SystemExit("ONNX output differs from PyTorch")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--checkpoint", type=Path, default=CHECKPOINTS / "last.pt")
    parser.add_argument("--out", type=Path, default=MODEL_PATH)
    args = parser.parse_args()
    export(args.checkpoint, args.out)


if __name__ == "__main__":
    main()
