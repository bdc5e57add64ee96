"""The network of the serving-overhead benchmark, as an entry point a version folder ships.

:mod:`bench.serving_overhead` copies this file into the eager version's folder and names
``overhead_net:factory`` as its entrypoint (kind ``entrypoint``): the factory rebuilds the
``nn.Module`` from ``net.json`` (its shape) and ``weights.pt`` (its state dict, read with
``weights_only=True``), so the eager model is served through
:func:`inference.loaders.load_version` like the TorchScript and exported ones. It imports
torch alone, as a shipped module must.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import nn


def build(n_features: int, width: int, depth: int) -> nn.Sequential:
    """``depth`` ReLU layers ``width`` wide over ``n_features`` inputs, two logits out."""
    layers: list[nn.Module] = []
    width_in = n_features
    for _ in range(depth):
        layers += [nn.Linear(width_in, width), nn.ReLU()]
        width_in = width
    return nn.Sequential(*layers, nn.Linear(width_in, 2)).eval()


def factory(folder: Path) -> nn.Module:
    """The eager network saved in ``folder`` (``net.json`` and ``weights.pt``)."""
    shape = json.loads((Path(folder) / "net.json").read_text())
    net = build(shape["n_features"], shape["width"], shape["depth"])
    net.load_state_dict(torch.load(Path(folder) / "weights.pt", weights_only=True))
    return net.eval()
