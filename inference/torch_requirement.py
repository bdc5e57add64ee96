"""What a module that needs torch says when torch is not installed: how to install it.

torch is a dependency of the package, pinned in ``pyproject.toml``, but only the modules
that run a network import it; each guards that import and raises this error, so the one
install instruction (and the pin it names) is written once.

Examples
--------
>>> str(torch_missing("retrain.trainer")).split(":")[0]
'retrain.trainer needs torch'
"""

from __future__ import annotations

__all__ = ["TORCH_PIN", "torch_missing"]

TORCH_PIN = "torch==2.13.0"
"""The torch release the project pins (``pyproject.toml``)."""


def torch_missing(module: str) -> ImportError:
    """The ImportError for ``module`` (a dotted name) when ``import torch`` failed.

    Raise it ``from`` the original error, so the missing piece stays in the traceback.
    """
    return ImportError(
        f"{module} needs torch: install inferwatch with its dependencies "
        f"(`pip install -e .`, which pins {TORCH_PIN}) or `pip install {TORCH_PIN}`"
    )
