"""Train the plate reader (CTC) on synthetic shards plus the real training splits.

    python -m training.train [--steps N] [--batch B] [--threads T]

Resumes from training/checkpoints/last.pt when it exists (the step, optimiser, schedule
and random state are saved every ``--save-every`` steps). Evaluates on the held-out
us-plate-crops split as it goes; that split is never trained on.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from platekeeper.recognition.plate_input import ALPHABET, INPUT_H, INPUT_W
from training import data
from training.model import PlateCRNN
from training.render import CACHE, shrink

CHECKPOINTS = Path(__file__).resolve().parent / "checkpoints"
INDEX = {c: i + 1 for i, c in enumerate(ALPHABET)}


def normalise(batch: np.ndarray) -> torch.Tensor:
    """The normalisation step of ``plate_input.prepare``, on a batch of grey model-size crops."""
    x = batch.astype(np.float32)
    mean = x.mean(axis=(1, 2), keepdims=True)
    std = np.maximum(x.std(axis=(1, 2), keepdims=True), 8.0)
    return torch.from_numpy(((x - mean) / std)[:, None])


class Synthetic:
    """The rendered shards, reloaded as the renderer adds more."""

    def __init__(self) -> None:
        self.seen: set[Path] = set()
        self.images = np.zeros((0, INPUT_H, INPUT_W), np.uint8)
        self.labels: list[str] = []

    def refresh(self) -> None:
        new = sorted(p for p in CACHE.glob("shard-*.npz") if p not in self.seen and ".tmp" not in p.name)
        for p in new:
            with np.load(p) as z:
                self.images = np.concatenate([self.images, z["images"]])
                self.labels += [str(s) for s in z["labels"]]
            self.seen.add(p)

    def draw(self, rng: np.random.Generator, n: int) -> tuple[list[np.ndarray], list[str]]:
        idx = rng.integers(0, len(self.labels), n)
        return [self.images[i] for i in idx], [self.labels[i] for i in idx]


def held_out() -> tuple[np.ndarray, list[str]]:
    import cv2

    images, labels = [], []
    for path, plate in data.crop_rows():
        if data.crops_held_out(plate):
            img = cv2.imread(str(path))
            if img is not None:
                images.append(shrink(img))
                labels.append(plate)
    return np.stack(images), labels


def greedy(probs: torch.Tensor) -> list[str]:
    out = []
    for seq in probs.argmax(-1).tolist():
        s, prev = [], 0
        for k in seq:
            if k and k != prev:
                s.append(ALPHABET[k - 1])
            prev = k
        out.append("".join(s))
    return out


def evaluate(model: nn.Module, images: np.ndarray, labels: list[str]) -> float:
    model.eval()
    hits = 0
    with torch.no_grad():
        for i in range(0, len(labels), 128):
            pred = greedy(model(normalise(images[i : i + 128])))
            hits += sum(p == t for p, t in zip(pred, labels[i : i + 128], strict=True))
    model.train()
    return hits / max(1, len(labels))


def learning_rate(step: int, total: int, peak: float, warmup: int = 300) -> float:
    """Linear warm-up, then cosine decay to the last step. Stateless: ``--steps`` may change on resume."""
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return peak * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * progress)))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=2900)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--save-every", type=int, default=100)
    parser.add_argument("--real-share", type=float, default=0.45)
    parser.add_argument("--seed", type=int, default=7)
    return parser.parse_args()


def make_batch(
    rng: np.random.Generator, synth: Synthetic, reals: list[data.Real], weights: np.ndarray, batch: int, share: float
) -> tuple[torch.Tensor, list[str]]:
    """Synthetic crops drawn from the shards, real crops augmented afresh."""
    n_real = round(batch * share)
    imgs, labels = synth.draw(rng, batch - n_real)
    for i in rng.choice(len(reals), n_real, p=weights):
        imgs.append(shrink(data.augment_real(rng, reals[i])))
        labels.append(reals[i].label)
    return normalise(np.stack(imgs)), labels


def ctc_loss(model: nn.Module, ctc: nn.CTCLoss, x: torch.Tensor, labels: list[str]) -> torch.Tensor:
    targets = torch.tensor([INDEX[c] for s in labels for c in s if c in INDEX], dtype=torch.long)
    target_lengths = torch.tensor([sum(c in INDEX for c in s) for s in labels], dtype=torch.long)
    logp = model(x).log_softmax(-1).transpose(0, 1)  # T, N, C
    input_lengths = torch.full((len(labels),), logp.shape[0], dtype=torch.long)
    loss: torch.Tensor = ctc(logp, targets, input_lengths, target_lengths)
    return loss


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    CHECKPOINTS.mkdir(parents=True, exist_ok=True)

    model = PlateCRNN()
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    ctc = nn.CTCLoss(blank=0, zero_infinity=True)
    rng = np.random.default_rng(args.seed)
    step = 0
    last = CHECKPOINTS / "last.pt"
    if last.is_file():
        state = torch.load(last, weights_only=False)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        step = state["step"]
        rng.bit_generator.state = state["rng"]
        print(f"resumed at step {step}", flush=True)

    synth = Synthetic()
    synth.refresh()
    reals = data.load_training_reals()
    weights = np.array([3.0 if r.tight_text else 1.0 for r in reals])
    weights /= weights.sum()
    val_x, val_y = held_out()
    print(f"synthetic {len(synth.labels)}, real {len(reals)}, held-out {len(val_y)}", flush=True)
    model.train()
    t0, losses = time.time(), []
    while step < args.steps:
        if step % 200 == 0:
            synth.refresh()
        x, labels = make_batch(rng, synth, reals, weights, args.batch, args.real_share)
        loss = ctc_loss(model, ctc, x, labels)
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        for group in opt.param_groups:
            group["lr"] = learning_rate(step, args.steps, args.lr)
        opt.step()
        step += 1
        losses.append(loss.item())
        if step % args.save_every == 0 or step == args.steps:
            acc = evaluate(model, val_x, val_y)
            state = {"model": model.state_dict(), "opt": opt.state_dict(),
                     "step": step, "rng": rng.bit_generator.state, "held_out_acc": acc}
            torch.save(state, CHECKPOINTS / "last.tmp")
            (CHECKPOINTS / "last.tmp").replace(last)
            print(f"step {step} loss {np.mean(losses[-args.save_every:]):.3f} held-out {acc:.3f} "
                  f"synthetic {len(synth.labels)} {time.time() - t0:.0f}s", flush=True)


if __name__ == "__main__":
    main()
