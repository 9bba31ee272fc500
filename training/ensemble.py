"""Merge plate-reader ONNX models into one that averages their per-column probabilities.

    python -m training.ensemble MODEL.onnx MODEL.onnx [...] --out PATH.onnx

Every member has the same input (``image``, N x 1 x 48 x 128) and output (``probs``, N x 32 x 37,
softmax), so the mean of their outputs is again a distribution per column and the reader, its
greedy decoding and the pipeline use the merged model unchanged. The members' graphs are copied
side by side (names prefixed ``m0/``, ``m1/`` ...) under one shared input, then an ONNX ``Mean``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import onnx
from onnx import compose, helper


def merge(paths: list[Path]) -> onnx.ModelProto:
    models = [onnx.load(str(p)) for p in paths]
    first = models[0]
    nodes, inits, infos, outs = [], [], [], []
    for i, model in enumerate(models):
        if [x.name for x in model.graph.input] != ["image"] or [x.name for x in model.graph.output] != ["probs"]:
            raise SystemExit(f"{paths[i]}: expected one input 'image' and one output 'probs'")
        prefixed = compose.add_prefix(model, f"m{i}/")
        g = prefixed.graph
        for node in g.node:
            node.input[:] = ["image" if x == f"m{i}/image" else x for x in node.input]
        nodes += list(g.node)
        inits += list(g.initializer)
        infos += list(g.value_info)
        outs.append(f"m{i}/probs")
    nodes.append(helper.make_node("Mean", outs, ["probs"], name="ensemble_mean"))
    graph = helper.make_graph(nodes, "plate_reader_ensemble", [first.graph.input[0]], [first.graph.output[0]],
                              initializer=inits, value_info=infos)
    merged = helper.make_model(graph, opset_imports=list(first.opset_import), producer_name="platekeeper")
    merged.ir_version = first.ir_version
    for i, model in enumerate(models):
        for prop in model.metadata_props:
            meta = merged.metadata_props.add()
            meta.key, meta.value = f"m{i}.{prop.key}", prop.value
    meta = merged.metadata_props.add()
    meta.key, meta.value = "members", str(len(models))
    onnx.checker.check_model(merged)
    return merged


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("models", type=Path, nargs="+")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    if len(args.models) < 2:
        raise SystemExit("give two or more models")
    merged = merge(args.models)
    import onnxruntime as ort

    x = np.random.default_rng(1).normal(size=(3, 1, 48, 128)).astype(np.float32)
    want = np.mean([ort.InferenceSession(str(p), providers=["CPUExecutionProvider"]).run(None, {"image": x})[0]
                    for p in args.models], axis=0)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(merged, str(args.out))
    got = ort.InferenceSession(str(args.out), providers=["CPUExecutionProvider"]).run(None, {"image": x})[0]
    err = float(np.abs(got - want).max())
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB, {len(args.models)} members), max diff {err:.2e}")
    if err > 1e-5:
        raise SystemExit("the merged model differs from the mean of its members")


if __name__ == "__main__":
    main()
