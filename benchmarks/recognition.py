"""Recognition benchmark on a labelled set of stills (default: ../shared/data/ucsd-stills).

    python benchmarks/recognition.py [--data DIR] [--limit N] [--no-baseline] [--verbose]

Measures, with one inference thread: top-1 accuracy (plates[0].plate equals the
label), top-5 (the label is among plates[0]'s candidates), median and p95
milliseconds per image, images per second and peak RSS. A naive baseline (raw
RapidOCR text, the longest alphanumeric run of 5–8 characters) is measured beside it.
Writes benchmarks/results/recognition.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2

from platekeeper.recognition.pipeline import default_recognizer
from platekeeper.recognition.rapid import DET_MODEL, REC_MODEL, bundled_model_dir

ROOT = Path(__file__).resolve().parent
DEFAULT_DATA = ROOT.parent.parent / "shared" / "data" / "ucsd-stills"
RESULTS = ROOT / "results" / "recognition.json"


def load_labels(data: Path, limit: int | None) -> list[tuple[Path, str]]:
    rows = []
    with (data / "labels.tsv").open(encoding="utf-8") as f:
        next(f)
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) >= 2:
                rows.append((data / "images" / parts[0], parts[1].strip().upper()))
    return rows[:limit] if limit else rows


def peak_rss_mb() -> float:
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(kb / 1024 if platform.system() == "Linux" else kb / 2**20, 1)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[k]


Predictor = Callable[[Any], tuple[str | None, list[str]]]


def evaluate(name: str, predict: Predictor, rows: list[tuple[Path, str]], verbose: bool) -> dict[str, Any]:
    top1 = top5 = 0
    times: list[float] = []
    cpu: list[float] = []
    misses = []
    for path, label in rows:
        image = cv2.imread(str(path))
        t0, c0 = time.perf_counter(), time.process_time()
        plate, candidates = predict(image)
        times.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
        top1 += plate == label
        top5 += label in candidates[:5]
        if plate != label:
            misses.append(f"{path.name}\t{label}\t{plate}\t{' '.join(candidates[:5])}")
    if verbose:
        print(f"--- {name} misses", file=sys.stderr)
        print("\n".join(misses), file=sys.stderr)
    n = len(rows)
    total_s = sum(times) / 1000
    return {
        "images": n,
        "top1": round(top1 / n, 4),
        "top5": round(top5 / n, 4),
        "median_ms": round(statistics.median(times), 1),
        "p95_ms": round(percentile(times, 0.95), 1),
        "images_per_s": round(n / total_s, 2) if total_s else None,
        # CPU time of this process: with one inference thread, close to the wall time on an idle
        # machine, and not inflated when other work shares the cores.
        "median_cpu_ms": round(statistics.median(cpu), 1),
        "p95_cpu_ms": round(percentile(cpu, 0.95), 1),
    }


def baseline_predictor() -> Predictor:
    from rapidocr import RapidOCR

    models = bundled_model_dir()
    engine = RapidOCR(
        params={
            "Global.log_level": "critical",
            "Global.use_cls": False,
            "Det.model_path": str(models / DET_MODEL),
            "Rec.model_path": str(models / REC_MODEL),
            "EngineConfig.onnxruntime.intra_op_num_threads": 1,
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
        }
    )

    def predict(image: Any) -> tuple[str | None, list[str]]:
        result = engine(image)
        best: str | None = None
        for text in result.txts or ():
            for run in re.findall(r"[A-Z0-9]+", re.sub(r"[\s\-·.]", "", text.upper())):
                if 5 <= len(run) <= 8 and (best is None or len(run) > len(best)):
                    best = run
        return best, [best] if best else []

    return predict


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--verbose", action="store_true", help="list misses on stderr")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    rows = load_labels(args.data, args.limit)
    cv2.setNumThreads(1)  # one thread in all: OpenCV's own pool too, not only the ONNX sessions
    recognizer = default_recognizer(threads=1)
    t0 = time.perf_counter()
    recognizer.recognize(cv2.imread(str(rows[0][0])))  # load the models outside the timing
    load_s = time.perf_counter() - t0

    def predict(image: Any) -> tuple[str | None, list[str]]:
        plates = recognizer.recognize(image, top=5)
        if not plates:
            return None, []
        return plates[0].plate, [c.plate for c in plates[0].candidates]

    result: dict[str, Any] = {
        "data": str(args.data),
        "threads": 1,
        "platekeeper": evaluate("platekeeper", predict, rows, args.verbose),
    }
    result["platekeeper"]["first_call_s"] = round(load_s, 2)
    result["platekeeper"]["peak_rss_mb"] = peak_rss_mb()
    if args.no_baseline and args.out.is_file():
        # keep the baseline measured by an earlier full run of the same data
        previous = json.loads(args.out.read_text(encoding="utf-8"))
        if previous.get("data") == str(args.data) and "baseline_rapidocr_longest_run" in previous:
            result["baseline_rapidocr_longest_run"] = previous["baseline_rapidocr_longest_run"]
    if not args.no_baseline:
        baseline = evaluate("baseline", baseline_predictor(), rows, args.verbose)
        baseline["peak_rss_mb_process"] = peak_rss_mb()
        result["baseline_rapidocr_longest_run"] = baseline
    print(json.dumps(result, indent=2))
    if args.limit is None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
