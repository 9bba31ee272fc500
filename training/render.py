"""Render synthetic plates into shards (prepared model-size grey crops) under training/cache/.

    python -m training.render [--shards N] [--per-shard K] [--seed S] [--jobs J]

Each shard is rendered from its own seed (seed + shard index), so the set is reproducible
and shards can be rendered in any order or in parallel; existing shards are kept.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from platekeeper.recognition.plate_input import INPUT_H, INPUT_W, to_gray
from training.synth import demo_sample, sample

# Versioned by the generator: shards of an older ``synth.py`` (other fonts, other draws) are not mixed in.
# v2: the condensed fontpkg fonts.
CACHE = Path(__file__).resolve().parent / "cache" / "synth-v2"


def shrink(crop: np.ndarray) -> np.ndarray:
    """The grey model-size crop (the resize step of ``plate_input.prepare``)."""
    gray = to_gray(crop)
    h, w = gray.shape[:2]
    interp = cv2.INTER_AREA if h > INPUT_H and w > INPUT_W else cv2.INTER_CUBIC
    return cv2.resize(gray, (INPUT_W, INPUT_H), interpolation=interp)


def render_shard(index: int, per_shard: int, seed: int, demo: bool = False) -> Path:
    path = CACHE / f"shard-{'demo-' if demo else ''}{seed}-{index:04d}.npz"
    if path.is_file():
        return path
    rng = np.random.default_rng(seed * 100_003 + index + (50_000 if demo else 0))
    images, labels = [], []
    for _ in range(per_shard):
        crop, label = demo_sample(rng) if demo else sample(rng)
        images.append(shrink(crop))
        labels.append(label)
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, images=np.stack(images), labels=np.array(labels))
    tmp.replace(path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shards", type=int, default=60)
    parser.add_argument("--per-shard", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--first", type=int, default=0)
    parser.add_argument("--step", type=int, default=1, help="render every step-th shard (parallel runs)")
    parser.add_argument("--demo", action="store_true", help="plates in the demo scenes' style instead")
    parser.add_argument("--jobs", type=int, default=1, help="shards rendered at once (processes)")
    args = parser.parse_args()
    todo = list(range(args.first, args.shards, args.step))
    if args.jobs <= 1:
        for i in todo:
            print(render_shard(i, args.per_shard, args.seed, args.demo), flush=True)
        return
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(args.jobs) as pool:
        for path in pool.map(render_shard, todo, [args.per_shard] * len(todo), [args.seed] * len(todo),
                             [args.demo] * len(todo)):
            print(path, flush=True)


if __name__ == "__main__":
    main()
