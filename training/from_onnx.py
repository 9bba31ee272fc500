"""Recover a PyTorch checkpoint of the reader (either size in ``ARCHS``) from the shipped ONNX model.

    python -m training.from_onnx [--model PATH.onnx] [--out training/checkpoints/start.pt]

The export folds each batch norm into its convolution, so the batch norms are re-created from
data: with the convolution's output statistics ``mu, sigma`` on real training crops, the norm gets
``weight = sigma, bias = mu + folded bias`` and running statistics ``mu, sigma**2``, which gives
the same outputs in evaluation mode and nearly the same in training mode. ``train.py --init``
fine-tunes from the result; the round trip is checked against the ONNX model.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import numpy_helper
from torch import nn

from platekeeper.recognition.plate_reader import MODEL_PATH
from training import data
from training.model import ARCHS, build
from training.render import shrink
from training.train import CHECKPOINTS, normalise


def arch_of(widths: tuple[int, ...]) -> str:
    """The named size with these convolution widths (the export keeps no name)."""
    for name, spec in ARCHS.items():
        if tuple(spec["channels"]) == widths:  # type: ignore[arg-type]
            return name
    raise SystemExit(f"no reader size has convolution widths {widths}")


def convert(model_path: Path) -> tuple[nn.Module, str]:
    graph = onnx.load(str(model_path)).graph
    init = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    convs = [n for n in graph.node if n.op_type == "Conv"]
    arch = arch_of(tuple(int(init[n.input[1]].shape[0]) for n in convs))
    model = build(arch)
    bns = [m for m in model.features if isinstance(m, nn.BatchNorm2d)]
    torch_convs = [m for m in model.features if isinstance(m, nn.Conv2d)]
    folded_bias = []
    with torch.no_grad():
        for node, conv, bn in zip(convs, torch_convs, bns, strict=True):
            conv.weight.copy_(torch.from_numpy(init[node.input[1]]))
            b = torch.from_numpy(init[node.input[2]])
            folded_bias.append(b)
            bn.weight.fill_(1.0)
            bn.bias.copy_(b)
            bn.running_mean.zero_()
            bn.running_var.fill_(1.0 - bn.eps)
        lstm = next(n for n in graph.node if n.op_type == "LSTM")
        W, R, B = (init[lstm.input[k]] for k in (1, 2, 3))
        H = R.shape[-1]
        order = np.concatenate([np.arange(H) + H * g for g in (0, 2, 3, 1)])  # ONNX i,o,f,c → torch i,f,g,o
        for d, suffix in enumerate(("", "_reverse")):
            getattr(model.rnn, f"weight_ih_l0{suffix}").copy_(torch.from_numpy(W[d][order]))
            getattr(model.rnn, f"weight_hh_l0{suffix}").copy_(torch.from_numpy(R[d][order]))
            getattr(model.rnn, f"bias_ih_l0{suffix}").copy_(torch.from_numpy(B[d][: 4 * H][order]))
            getattr(model.rnn, f"bias_hh_l0{suffix}").copy_(torch.from_numpy(B[d][4 * H :][order]))
        matmul = next(n for n in graph.node if n.op_type == "MatMul")
        model.head.weight.copy_(torch.from_numpy(init[matmul.input[1]].T))
        model.head.bias.copy_(torch.from_numpy(init["model.head.bias"]))

    # batch norms from the convolutions' statistics on real crops
    reals = data.load_training_reals()
    rng = np.random.default_rng(0)
    x = normalise(np.stack([shrink(data.augment_real(rng, reals[int(i)])) for i in rng.integers(0, len(reals), 512)]))
    outs: list[torch.Tensor] = []
    hooks = [c.register_forward_hook(lambda _m, _i, o: outs.append(o.detach())) for c in torch_convs]
    model.eval()
    with torch.no_grad():
        model(x)
        for h in hooks:
            h.remove()
        for z, bn, b in zip(outs, bns, folded_bias, strict=True):
            mu, var = z.mean(dim=(0, 2, 3)), z.var(dim=(0, 2, 3), unbiased=False)
            bn.weight.copy_(torch.sqrt(var + bn.eps))
            bn.bias.copy_(mu + b)
            bn.running_mean.copy_(mu)
            bn.running_var.copy_(var)
    return model, arch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, default=MODEL_PATH)
    parser.add_argument("--out", type=Path, default=CHECKPOINTS / "start.pt")
    args = parser.parse_args()
    model, arch = convert(args.model)
    import onnxruntime as ort

    x = np.random.default_rng(1).normal(size=(4, 1, 48, 128)).astype(np.float32)
    want = ort.InferenceSession(str(args.model), providers=["CPUExecutionProvider"]).run(None, {"image": x})[0]
    with torch.no_grad():
        got = torch.softmax(model(torch.from_numpy(x)), -1).numpy()
    err = float(np.abs(got - want).max())
    print(f"round trip max diff {err:.2e}")
    if err > 1e-3:
        raise SystemExit("the recovered model differs from the ONNX model")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    meta = onnx.load(str(args.model)).metadata_props
    step = int(next((p.value for p in meta if p.key == "step"), "0") or 0)
    torch.save({"model": model.state_dict(), "arch": ARCHS[arch], "step": step}, args.out)
    print(f"wrote {args.out} ({arch}, from {args.model}, step {step})")


if __name__ == "__main__":
    main()
