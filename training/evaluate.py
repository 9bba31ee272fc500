"""Exact-match accuracy of the reader on a split of us-plate-crops, with its errors.

    python -m training.evaluate [--model PATH.onnx | --checkpoint PATH.pt] [--split val|held-out|train]

``val`` is the validation part of the training split (``data.crops_val``), for choosing a recipe;
``held-out`` is the split never trained on, for the final measurement only; ``train`` is the rest
of the training split (errors there point at label noise or hard crops).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from platekeeper.recognition.plate_input import ALPHABET, prepare
from training import data


def split_rows(split: str) -> list[tuple[Path, str]]:
    rows = data.crop_rows()
    if split == "held-out":
        return [r for r in rows if data.crops_held_out(r[1])]
    if split == "val":
        return [r for r in rows if not data.crops_held_out(r[1]) and data.crops_val(r[1])]
    return [r for r in rows if not data.crops_held_out(r[1]) and not data.crops_val(r[1])]


def greedy(probs: Any) -> list[str]:
    """Best-path CTC decoding of a batch of (steps, classes) scores: a NumPy array or a torch tensor."""
    out = []
    for seq in probs.argmax(-1).tolist():
        s, prev = [], 0
        for k in seq:
            if k and k != prev:
                s.append(ALPHABET[k - 1])
            prev = k
        out.append("".join(s))
    return out


def predict_onnx(model: Path, x: np.ndarray) -> list[str]:
    import onnxruntime as ort

    sess = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    return [p for i in range(0, len(x), 64) for p in greedy(sess.run(None, {"image": x[i : i + 64]})[0])]


def predict_checkpoint(checkpoint: Path, x: np.ndarray) -> list[str]:
    import torch

    from training.model import from_checkpoint

    model, _ = from_checkpoint(checkpoint)
    with torch.no_grad():
        return [p for i in range(0, len(x), 64) for p in greedy(model(torch.from_numpy(x[i : i + 64])).numpy())]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path)
    parser.add_argument("--checkpoint", type=Path)
    parser.add_argument("--split", choices=("val", "held-out", "train"), default="val")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args()
    rows = split_rows(args.split)
    x = np.stack([prepare(cv2.imread(str(p))) for p, _ in rows]).astype(np.float32)
    if args.checkpoint:
        pred = predict_checkpoint(args.checkpoint, x)
    else:
        from platekeeper.recognition.plate_reader import MODEL_PATH

        pred = predict_onnx(args.model or MODEL_PATH, x)
    hits = 0
    for (path, label), p in zip(rows, pred, strict=True):
        hits += p == label
        if p != label and not args.quiet:
            print(f"{label:10s} {p:10s} {path.parent.name}/{path.name}")
    print(f"{args.split}: {hits}/{len(rows)} exact = {hits / len(rows):.3f}")


if __name__ == "__main__":
    main()
