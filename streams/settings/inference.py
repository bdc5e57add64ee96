"""The inference agents: the model store, micro-batching, device and A/B variants."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from inference.version_binding import VersionBinding
from streams.settings.values import comma_names, parsed_by

#: relative default paths resolve against the directory the command started in
_ROOT = Path.cwd()


def parse_split(text: str) -> dict[str, float]:
    """Parse 'A=0.9,B=0.1' into a traffic split that sums to 1.

    >>> parse_split("A=0.9,B=0.1")
    {'A': 0.9, 'B': 0.1}
    """
    split: dict[str, float] = {}
    for part in comma_names(text):
        name, sep, share = part.partition("=")
        if not sep or not name:
            raise ValueError(f"expected VARIANT=SHARE, got {part!r}")
        split[name.strip()] = float(share)
    if (not split or not all(math.isfinite(v) and v >= 0 for v in split.values())
            or abs(sum(split.values()) - 1) > 1e-9):
        raise ValueError(f"shares must be non-negative and sum to 1, got {text!r}")
    return split


class InferenceSettings(BaseSettings):
    """How the inference agent batches and where its models live."""

    model_config = SettingsConfigDict(env_prefix="INFERWATCH_INFERENCE_", extra="ignore")

    model_dir: Path = Field(_ROOT / "var" / "models", description="Model store root.")
    max_batch: int = Field(256, ge=1, le=65536, description="Flush a model batch at this size.")
    max_wait_ms: float = Field(
        20.0, ge=0, le=60_000, description="…or when the oldest waited this long.")
    device: str | None = Field(None, description="Force a torch device; default cuda if present.")
    cpu_threads: int = Field(
        1, ge=1, le=1024, description="torch threads for a forward pass on CPU; one is "
        "fastest for the hot path's small batches (more spin on cores the loops need).")
    variants: str = Field("A=1.0", description="Traffic split, e.g. 'A=0.9,B=0.1'.")
    experiment: str = Field(
        "", description="The experiment the traffic split serves: it salts the sticky hash "
        "of (experiment, unit id), so separate experiments split units independently.")
    variant_versions: str = Field(
        "", description="Model version served per variant, 'MODEL:VARIANT=VERSION' "
        "comma-separated, e.g. 'churn:A=v1,churn:B=v2'; VERSION is a published version or "
        "'latest'. An unbound variant serves the latest version.")

    shadow_share: float = Field(
        1.0, ge=0, le=1, description="Share of a model's requests its shadow version (the "
        "registry's 'shadow' alias) scores, picked by the hash of the request id, when "
        "`inferwatch experiment start --shadow-share` recorded none for that version.")

    precision: Literal["full", "int8", "half"] = Field(
        "full", description="Serving precision: 'full' (float32), 'int8' (dynamic "
        "quantisation of the Linear layers, CPU only) or 'half' (float16, CUDA only). A "
        "reduced one serves only if its accuracy on the model's holdout stays within "
        "precision_tolerance of full precision.")
    precision_tolerance: float = Field(
        0.01, ge=0, le=1, description="Most holdout accuracy a reduced precision may lose.")

    @field_validator("precision")
    @classmethod
    def _precision_runs_here(cls, value: str, info: ValidationInfo) -> str:
        if value == "full":
            return value
        from inference.quantize import require_device
        from inference.torch_predictor import select_device

        require_device(value, select_device(info.data.get("device")))
        return value

    _split_parses = field_validator("variants")(parsed_by(parse_split))
    _binding_parses = field_validator("variant_versions")(parsed_by(VersionBinding.parse))

    @property
    def split(self) -> dict[str, float]:
        return parse_split(self.variants)

    @property
    def binding(self) -> VersionBinding:
        return VersionBinding.parse(self.variant_versions)
