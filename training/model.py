"""The plate reader: a compact CRNN (convolutions, a bidirectional LSTM, CTC over A–Z0–9)."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from platekeeper.recognition.plate_input import ALPHABET, INPUT_H, INPUT_W

N_CLASSES = len(ALPHABET) + 1  # CTC blank first
# Named sizes: convolution channels of the five blocks and LSTM units per direction.
ARCHS: dict[str, dict[str, object]] = {
    "base": {"channels": (24, 48, 96, 144, 192), "hidden": 128},  # 0.6 M parameters
    # 0.8 M parameters, about 1.5x the reader's CPU time; tried on 25 November, not shipped (docs/recognition.md)
    "wide": {"channels": (32, 64, 128, 160, 256), "hidden": 128},
}


def _block(cin: int, cout: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class PlateCRNN(nn.Module):
    """(N, 1, 48, 128) → (N, 32, classes) logits; 32 time steps, one per 4 input columns."""

    def __init__(self, channels: tuple[int, ...] = (24, 48, 96, 144, 192), hidden: int = 128) -> None:
        super().__init__()
        c = list(channels)
        self.features = nn.Sequential(
            *_block(1, c[0]), nn.MaxPool2d(2),  # 24 x 64
            *_block(c[0], c[1]), nn.MaxPool2d(2),  # 12 x 32
            *_block(c[1], c[2]), nn.MaxPool2d((2, 1)),  # 6 x 32
            *_block(c[2], c[3]), nn.MaxPool2d((2, 1)),  # 3 x 32
            nn.Conv2d(c[3], c[4], (3, 1), bias=False), nn.BatchNorm2d(c[4]), nn.ReLU(inplace=True),  # 1 x 32
            nn.Dropout(0.1),
        )
        self.rnn = nn.LSTM(c[4], hidden, bidirectional=True, batch_first=True)
        self.head = nn.Linear(2 * hidden, N_CLASSES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.features(x).squeeze(2).transpose(1, 2)  # N, T, C
        out, _ = self.rnn(f)
        logits: torch.Tensor = self.head(out)
        return logits


def build(arch: str | dict[str, object] = "base") -> PlateCRNN:
    """The model of a named size (``ARCHS``), or of the sizes a checkpoint saved."""
    spec = ARCHS[arch] if isinstance(arch, str) else (arch or ARCHS["base"])
    return PlateCRNN(tuple(spec["channels"]), int(spec["hidden"]))  # type: ignore[arg-type, call-overload]


def trained_weights(state: dict[str, object]) -> dict[str, torch.Tensor]:
    """The weights a checkpoint serves for evaluation, export and fine-tuning: the moving average of
    the weights when the run kept one (``train.py --ema``), else the weights themselves."""
    weights = state.get("ema") or state["model"]
    return weights  # type: ignore[return-value]


def from_checkpoint(path: Path) -> tuple[PlateCRNN, dict[str, object]]:
    """The model a checkpoint file serves (its size and ``trained_weights``), in eval mode, and the
    checkpoint itself."""
    state = torch.load(path, weights_only=False, map_location="cpu")
    model = build(state.get("arch", "base"))
    model.load_state_dict(trained_weights(state))
    return model.eval(), state


class WithSoftmax(nn.Module):
    """What is exported: probabilities, so inference needs no torch."""

    def __init__(self, model: PlateCRNN) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.model(x), dim=-1)


def input_shape(batch: int = 1) -> tuple[int, int, int, int]:
    return (batch, 1, INPUT_H, INPUT_W)
