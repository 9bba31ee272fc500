"""Train the plate detector: a small fully convolutional network that marks plate characters.

    python -m training.detector [--steps N] [--samples N] [--threads T] [--out PATH]

It learns from ``detector_data`` scenes (ucsd-stills dev-train photos with rendered plates
pasted in) and predicts, at a quarter of the input's resolution, the probability that a cell
lies on a plate's main characters; ``platekeeper.recognition.plate_detector`` turns that map
into text-line quads for the pipeline. The checkpoint (``training/checkpoints/detector.pt``) is
saved every few hundred steps and a re-run resumes from it; the end exports the ONNX model and
checks it against PyTorch.
"""

from __future__ import annotations

import argparse
import math
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from training import detector_data
from training.train import CHECKPOINTS

ROOT = Path(__file__).resolve().parents[1]
MODEL_OUT = ROOT / "src" / "platekeeper" / "recognition" / "models" / "plate_detector.onnx"


def _conv(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class PlateNet(nn.Module):
    """(N, 3, H, W) BGR in [-1, 1], H and W multiples of 32 → (N, 1, H/4, W/4) probabilities.

    An encoder to 1/32 (for context: a plate among a car's other text) and a top-down path back
    to 1/4, as in a feature pyramid."""

    def __init__(self, widths: tuple[int, ...] = (16, 24, 48, 96, 128), lateral: int = 32) -> None:
        super().__init__()
        w = widths
        self.stem = _conv(3, w[0], 2)  # 1/2
        self.down = nn.ModuleList(
            nn.Sequential(_conv(w[i], w[i + 1], 2), _conv(w[i + 1], w[i + 1])) for i in range(4)
        )  # 1/4, 1/8, 1/16, 1/32
        self.lateral = nn.ModuleList(nn.Conv2d(w[i + 1], lateral, 1) for i in range(4))
        self.head = nn.Sequential(_conv(lateral, 16), nn.Conv2d(16, 1, 1))

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        feats = []
        x = self.stem(x)
        for stage in self.down:
            x = stage(x)
            feats.append(x)
        top = self.lateral[3](feats[3])
        for i in (2, 1, 0):
            top = self.lateral[i](feats[i]) + F.interpolate(top, size=feats[i].shape[2:], mode="nearest")
        return self.head(top)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.logits(x))


def to_input(images: np.ndarray) -> torch.Tensor:
    """uint8 BGR (N, H, W, 3) → the network's input; ``plate_detector.prepare`` does the same."""
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float()
    return x / 127.5 - 1.0


def loss_fn(logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Cross-entropy (plate cells weighted up: they are rare) plus a Dice term (whole regions)."""
    bce = F.binary_cross_entropy_with_logits(logits, mask, pos_weight=torch.tensor(4.0))
    p = torch.sigmoid(logits)
    dice = 1 - (2 * (p * mask).sum() + 1) / (p.sum() + mask.sum() + 1)
    return bce + dice


def _chunk(args: tuple[int, int, bool]) -> tuple[np.ndarray, np.ndarray]:
    n, seed, val = args
    torch.set_num_threads(1)
    return detector_data.build(n, seed, val)


def make_samples(n: int, seed: int, val: bool, workers: int) -> tuple[np.ndarray, np.ndarray]:
    per = math.ceil(n / workers)
    jobs = [(per, seed * 1000 + i, val) for i in range(workers)]
    with ProcessPoolExecutor(workers) as pool:
        parts = list(pool.map(_chunk, jobs))
    return np.concatenate([p[0] for p in parts])[:n], np.concatenate([p[1] for p in parts])[:n]


def evaluate(model: PlateNet, images: np.ndarray, masks: np.ndarray) -> tuple[float, float]:
    """(loss, intersection over union of the thresholded map) over a validation set."""
    model.eval()
    losses, inter, union = [], 0.0, 0.0
    with torch.no_grad():
        for i in range(0, len(images), 64):
            logits = model.logits(to_input(images[i : i + 64]))
            m = torch.from_numpy(masks[i : i + 64]).float()[:, None]
            losses.append(float(loss_fn(logits, m)))
            pred = logits > 0
            inter += float((pred & (m > 0)).sum())
            union += float((pred | (m > 0)).sum())
    model.train()
    return float(np.mean(losses)), inter / max(union, 1.0)


def export(model: PlateNet, out: Path) -> None:
    model.eval()
    x = torch.randn(1, 3, 288, 384)
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(
        model, (x,), str(out), input_names=["image"], output_names=["probs"],
        dynamic_axes={"image": {0: "batch", 2: "height", 3: "width"}, "probs": {0: "batch", 2: "h", 3: "w"}},
        opset_version=17, dynamo=False,
    )
    import onnxruntime as ort

    sess = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    got = sess.run(None, {"image": x.numpy()})[0]
    with torch.no_grad():
        want = model(x).numpy()
    err = float(np.abs(got - want).max())
    print(f"exported {out} ({out.stat().st_size / 1e6:.2f} MB), max diff {err:.2e}", flush=True)
    if err > 1e-3:
        raise SystemExit("ONNX output differs from PyTorch")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--batch", type=int, default=24)
    parser.add_argument("--samples", type=int, default=10000, help="training scenes rendered before training")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--checkpoint", type=Path, default=CHECKPOINTS / "detector.pt")
    parser.add_argument("--out", type=Path, default=MODEL_OUT)
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    t0 = time.time()
    images, masks = make_samples(args.samples, args.seed, False, args.threads)
    val_images, val_masks = make_samples(400, args.seed + 1, True, args.threads)
    print(f"rendered {len(images)} training and {len(val_images)} validation scenes in {time.time() - t0:.0f} s",
          flush=True)
    torch.set_num_threads(args.threads)
    model = PlateNet()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
    step = 0
    if args.checkpoint.is_file():
        state = torch.load(args.checkpoint, weights_only=False)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        step = state["step"]
        print(f"resumed at step {step}", flush=True)
    rng = np.random.default_rng(args.seed + step)
    model.train()
    t0 = time.time()
    while step < args.steps:
        lr = 3e-3 * 0.5 * (1 + math.cos(math.pi * step / args.steps))
        for group in opt.param_groups:
            group["lr"] = lr
        idx = rng.integers(0, len(images), args.batch)
        logits = model.logits(to_input(images[idx]))
        loss = loss_fn(logits, torch.from_numpy(masks[idx]).float()[:, None])
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        if step % 100 == 0 or step == args.steps:
            msg = f"step {step} loss {loss.item():.4f} lr {lr:.2e} {(time.time() - t0) / 100:.2f} s/step"
            if step % 500 == 0 or step == args.steps:
                vloss, viou = evaluate(model, val_images, val_masks)
                msg += f" | val loss {vloss:.4f} IoU {viou:.3f}"
                args.checkpoint.parent.mkdir(parents=True, exist_ok=True)
                torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step}, args.checkpoint)
            print(msg, flush=True)
            t0 = time.time()
    export(model, args.out)


if __name__ == "__main__":
    main()
