"""Train the plate reader (CTC) on synthetic shards plus the real training splits.

    python -m training.train [--steps N] [--batch B] [--threads T] [--aug strong] [--init CKPT] [--val]
                             [--arch base|wide] [--ema DECAY] [--splice SHARE] [--splice-keep-shares]
                             [--settle-cuts] [--splice-stills] [--stills-weight W]

Resumes from training/checkpoints/last.pt when it exists (the step, optimiser, schedule
and random state are saved every ``--save-every`` steps). With ``--val`` the validation part
of the us-plate-crops training split (``data.crops_val``) is kept out of training and reported
as it goes, for choosing a recipe; the shipped model is trained without ``--val``, on the whole
training split. The held-out split is never trained on nor looked at here
(``python -m training.evaluate --split held-out`` measures it once, at the end).
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from platekeeper.recognition.plate_input import ALPHABET, INPUT_H, INPUT_W
from training import data
from training.evaluate import greedy, split_rows
from training.model import ARCHS, build, trained_weights
from training.render import CACHE, shrink
from training.splice import Splicer, character_cuts, cut_view, settle_cuts

CHECKPOINTS = Path(__file__).resolve().parent / "checkpoints"
STEPS = 2900  # stage 1 of the recipe (make train-reader); stage 2 fine-tunes to 4,500
INDEX = {c: i + 1 for i, c in enumerate(ALPHABET)}


def normalise(batch: np.ndarray) -> torch.Tensor:
    """The normalisation step of ``plate_input.prepare``, on a batch of grey model-size crops."""
    x = batch.astype(np.float32)
    mean = x.mean(axis=(1, 2), keepdims=True)
    std = np.maximum(x.std(axis=(1, 2), keepdims=True), 8.0)
    return torch.from_numpy(((x - mean) / std)[:, None])


class Synthetic:
    """The rendered shards, reloaded as the renderer adds more."""

    def __init__(self, max_shards: int = 0, folder: Path = CACHE) -> None:
        self.max_shards = max_shards  # of the general (non-demo) shards; 0: all
        self.folder = folder
        self.seen: set[Path] = set()
        self.images = np.zeros((0, INPUT_H, INPUT_W), np.uint8)
        self.labels: list[str] = []

    def refresh(self) -> None:
        paths = sorted(p for p in self.folder.glob("shard-*.npz") if ".tmp" not in p.name)
        if self.max_shards:
            general = [p for p in paths if "demo" not in p.name][: self.max_shards]
            paths = general + [p for p in paths if "demo" in p.name]
        new = [p for p in paths if p not in self.seen]
        for p in new:
            with np.load(p) as z:
                self.images = np.concatenate([self.images, z["images"]])
                self.labels += [str(s) for s in z["labels"]]
            self.seen.add(p)

    def draw(self, rng: np.random.Generator, n: int) -> tuple[list[np.ndarray], list[str]]:
        idx = rng.integers(0, len(self.labels), n)
        return [self.images[i] for i in idx], [self.labels[i] for i in idx]


def validation() -> tuple[np.ndarray, list[str]]:
    """The validation crops (never the held-out split), with corrected labels where there are."""
    import cv2

    fixes = data.label_fixes()
    images, labels = [], []
    for path, plate in split_rows("val"):
        img = cv2.imread(str(path))
        if img is not None:
            images.append(shrink(img))
            labels.append(fixes.get(path.relative_to(data.CROPS).as_posix(), plate))
    return np.stack(images), labels


def evaluate(model: nn.Module, images: np.ndarray, labels: list[str], device: str = "cpu") -> float:
    model.eval()
    hits = 0
    with torch.no_grad():
        for i in range(0, len(labels), 128):
            pred = greedy(model(normalise(images[i : i + 128]).to(device)).cpu())
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
    parser.add_argument("--steps", type=int, default=STEPS)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--save-every", type=int, default=200)
    parser.add_argument("--real-share", type=float, default=0.45)
    parser.add_argument("--arch", choices=sorted(ARCHS), default="base")
    parser.add_argument("--aug", choices=("basic", "strong"), default="basic", help="augmentation of real crops")
    parser.add_argument("--val", action="store_true", help="keep the validation crops out and report on them")
    parser.add_argument("--device", default="cpu", help="cpu, or cuda (same recipe, faster)")
    parser.add_argument("--checkpoints", type=Path, default=CHECKPOINTS)
    parser.add_argument("--synth-shards", type=int, default=0, help="use the first N general shards (0: all)")
    parser.add_argument("--synth-dir", type=Path, default=CACHE, help="the rendered shards (training.render)")
    parser.add_argument("--init", type=Path, help="fine-tune: start from this checkpoint's weights (its step too)")
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--bf16", action="store_true",
                        help="bfloat16 autocast and channels-last convolutions (CPUs with AVX-512 BF16, or CUDA)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--balance", type=float, default=0.0,
                        help="draw real crops holding rare symbols more often (data.rarity_factors power; 0: off)")
    parser.add_argument("--splice", type=float, default=0.0,
                        help="this share of the real crops in a batch are two real crops spliced between characters "
                             "(training/splice.py); the cuts come from the starting model, so it needs --init")
    parser.add_argument("--splice-keep-shares", action="store_true",
                        help="splice each drawn real crop that has cuts with this chance (with a partner of its "
                             "source) instead of drawing spliced pairs from the cut crops as a pool, so every "
                             "source, the ucsd stills included, keeps its share of the real crops")
    parser.add_argument("--splice-stills", action="store_true",
                        help="cut the ucsd stills' boxes too (in a view of the box, splice.cut_view), so "
                             "Californian plates are spliced among themselves; their cuts are settled (below)")
    parser.add_argument("--settle-cuts", action="store_true",
                        help="move every cut to the column of least ink near it (splice.settle_cuts): the "
                             "reader's peaks sit early on the glyphs, and a cut halfway between them can split one")
    parser.add_argument("--stills-weight", type=float, default=3.0,
                        help="how much more often a ucsd still's box is drawn than a us-plate-crops crop (the "
                             "stills are the only real Californian plates, 113 of the 1,705 real crops)")
    parser.add_argument("--ema", type=float, default=0.0,
                        help="also keep an exponential moving average of the weights with this decay (0.998: "
                             "about the last 500 steps); it is what is evaluated, saved for export and fine-tuned")
    return parser.parse_args()


def make_batch(
    rng: np.random.Generator, synth: Synthetic, reals: list[data.Real], weights: np.ndarray, batch: int, share: float,
    strong: bool = False, splicer: Splicer | None = None, splice_share: float = 0.0, keep_shares: bool = False,
) -> tuple[torch.Tensor, list[str]]:
    """Synthetic crops drawn from the shards, real crops (some of them spliced pairs) augmented afresh.

    Spliced pairs are either a share of the real crops drawn from the pool of cut crops, which leaves the
    crops that are not cut (the ucsd stills) a smaller share of the batch, or, with ``keep_shares``, each drawn
    crop that has cuts spliced with that chance with a partner of its own source.
    """
    n_real = round(batch * share)
    imgs, labels = synth.draw(rng, batch - n_real)
    if keep_shares and splicer is not None:
        drawn = rng.choice(len(reals), n_real, p=weights)
        chosen = [splicer.draw_with(rng, int(i)) if splicer.can_cut(int(i)) and rng.random() < splice_share
                  else reals[i] for i in drawn]
    else:
        n_spliced = round(n_real * splice_share) if splicer is not None else 0
        chosen = [reals[i] for i in rng.choice(len(reals), n_real - n_spliced, p=weights)]
        chosen += [splicer.draw(rng) for _ in range(n_spliced)] if splicer is not None else []
    for real in chosen:
        imgs.append(shrink(data.augment_real(rng, real, strong)))
        labels.append(real.label)
    return normalise(np.stack(imgs)), labels


def splice_cuts(
    model: nn.Module, reals: list[data.Real], device: str = "cpu", tight_too: bool = False
) -> list[tuple[float, ...] | None]:
    """Where the model, as it is, would cut each real crop between characters (``splice.character_cuts``);
    None for the crops that are not cut: misread ones, and tight-text boxes inside a larger image (a cut is a
    fraction of the whole image's width) unless ``tight_too`` (their ``cut_view`` is passed then)."""
    to_cut = [i for i, r in enumerate(reals) if tight_too or not r.tight_text]
    cuts: list[tuple[float, ...] | None] = [None] * len(reals)
    model.eval()
    with torch.no_grad():
        for start in range(0, len(to_cut), 128):
            part = to_cut[start : start + 128]
            x = normalise(np.stack([shrink(reals[i].image) for i in part]))
            probs = torch.softmax(model(x.to(device)), -1).cpu().numpy()
            for i, p in zip(part, probs, strict=True):
                cuts[i] = character_cuts(p, reals[i].label)
    model.train()
    return cuts


def ctc_loss(model: nn.Module, ctc: nn.CTCLoss, x: torch.Tensor, labels: list[str], bf16: bool = False) -> torch.Tensor:
    targets = torch.tensor([INDEX[c] for s in labels for c in s if c in INDEX], dtype=torch.long)
    target_lengths = torch.tensor([sum(c in INDEX for c in s) for s in labels], dtype=torch.long)
    # bfloat16 autocast (``--bf16``): about twice as fast on CPUs with AVX-512 BF16; the weights, the
    # optimiser and the loss stay float32.
    with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=bf16):
        out = model(x.contiguous(memory_format=torch.channels_last) if bf16 else x)
    logp = out.float().log_softmax(-1).transpose(0, 1).cpu()  # T, N, C
    input_lengths = torch.full((len(labels),), logp.shape[0], dtype=torch.long)
    loss: torch.Tensor = ctc(logp, targets, input_lengths, target_lengths)
    return loss


def make_splicer(
    args: argparse.Namespace, model: nn.Module, reals: list[data.Real], saved: list[tuple[float, ...] | None] | None
) -> Splicer | None:
    """The splicer of ``--splice``: cuts where the starting model reads the characters; a resumed run keeps
    the cuts it started with (``saved``)."""
    if args.splice <= 0:
        return None
    if saved is None and not args.init:
        raise SystemExit("--splice needs --init: the cuts come from a trained model")
    views = [cut_view(r) for r in reals] if args.splice_stills else reals
    cuts = saved
    if cuts is None:
        read = splice_cuts(model, views, args.device, tight_too=args.splice_stills)
        # the reader's peaks sit early on their glyphs, most on the small ucsd boxes: cut in the gaps beside them
        cuts = [settle_cuts(v, c) if c is not None and (v.tight_text or args.settle_cuts) else c
                for v, c in zip(views, read, strict=True)]
    splicer = Splicer(views, cuts)
    print(f"splicing: {len(splicer)} crops can be cut", flush=True)
    return splicer


def main() -> None:  # noqa: PLR0915
    args = parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    args.checkpoints.mkdir(parents=True, exist_ok=True)

    model = build(args.arch).to(args.device)
    if args.bf16:
        model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    ctc = nn.CTCLoss(blank=0, zero_infinity=True)
    rng = np.random.default_rng(args.seed)
    step = 0
    saved_cuts = None  # a resumed --splice run's cuts
    last = args.checkpoints / "last.pt"
    if last.is_file():
        state = torch.load(last, weights_only=False, map_location=args.device)
        saved_cuts = state.get("splice_cuts")
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        step = state["step"]
        rng.bit_generator.state = state["rng"]
        print(f"resumed at step {step}", flush=True)
    elif args.init:
        state = torch.load(args.init, weights_only=False, map_location=args.device)
        if state.get("arch", ARCHS["base"]) != ARCHS[args.arch]:
            raise SystemExit(f"{args.init} is not of size {args.arch}")
        model.load_state_dict(trained_weights(state))
        step = int(state.get("step", 0))
        print(f"fine-tuning from {args.init} (step {step})", flush=True)
    args.start_step = int(state["args"].get("start_step", 0)) if last.is_file() else step
    # The average starts from the weights the run starts from; its batch-norm statistics are averaged too.
    ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(args.ema), use_buffers=True) if args.ema else None
    if ema is not None and last.is_file() and state.get("ema"):
        ema.module.load_state_dict(state["ema"])
        ema.n_averaged.fill_(max(1, step))  # not 0: the first update would overwrite the average
    synth = Synthetic(args.synth_shards, args.synth_dir)
    synth.refresh()
    reals = data.load_training_reals(exclude_val=args.val)
    weights = np.array([args.stills_weight if r.tight_text else 1.0 for r in reals])
    weights *= data.rarity_factors([r.label for r in reals], args.balance)
    weights /= weights.sum()
    splicer = make_splicer(args, model, reals, saved_cuts)
    val_x, val_y = validation() if args.val else (np.zeros((0, INPUT_H, INPUT_W), np.uint8), [])
    n_params = sum(p.numel() for p in model.parameters())
    print(f"{args.arch} ({n_params / 1e6:.2f} M parameters), synthetic {len(synth.labels)}, real {len(reals)}, "
          f"validation {len(val_y)}", flush=True)
    model.train()
    t0, losses = time.time(), []
    while step < args.steps:
        if step % 200 == 0:
            synth.refresh()
        x, labels = make_batch(rng, synth, reals, weights, args.batch, args.real_share, args.aug == "strong",
                               splicer, args.splice, args.splice_keep_shares)
        loss = ctc_loss(model, ctc, x.to(args.device), labels, args.bf16)
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        for group in opt.param_groups:
            group["lr"] = learning_rate(step - args.start_step, args.steps - args.start_step, args.lr, args.warmup)
        opt.step()
        if ema is not None:
            ema.update_parameters(model)
        step += 1
        losses.append(loss.item())
        if step % args.save_every == 0 or step == args.steps:
            acc = evaluate(model, val_x, val_y, args.device) if val_y else float("nan")
            ema_acc = evaluate(ema.module, val_x, val_y, args.device) if val_y and ema is not None else float("nan")
            state = {"model": {k: v.cpu() for k, v in model.state_dict().items()}, "opt": opt.state_dict(),
                     "step": step, "rng": rng.bit_generator.state, "arch": ARCHS[args.arch],
                     "args": {k: str(v) for k, v in vars(args).items()}, "val_acc": acc}
            state["splice_cuts"] = None if splicer is None else list(splicer.cuts)
            if ema is not None:
                state["ema"] = {k: v.cpu() for k, v in ema.module.state_dict().items()}
                state["ema_val_acc"] = ema_acc
            state["args"]["start_step"] = args.start_step
            torch.save(state, args.checkpoints / "last.tmp")
            (args.checkpoints / "last.tmp").replace(last)
            average = f" (average {ema_acc:.3f})" if ema is not None else ""
            print(f"step {step} loss {np.mean(losses[-args.save_every:]):.3f} validation {acc:.3f}{average} "
                  f"synthetic {len(synth.labels)} {time.time() - t0:.0f}s", flush=True)


if __name__ == "__main__":
    main()
