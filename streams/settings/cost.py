"""The prices that turn what a prediction uses into money."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class CostSettings(BaseSettings):
    """Prices per hour of compute, for the cost per 1,000 predictions in the report and
    on the dashboard (the currency is the prices'; leave both 0 to show no money)."""

    model_config = SettingsConfigDict(env_prefix="INFERWATCH_COST_", extra="ignore")

    cpu_hour: float = Field(0.0, ge=0, description="Price of one CPU-hour (one core busy for "
                            "an hour), e.g. an instance's hourly price over its vCPUs.")
    gpu_hour: float = Field(0.0, ge=0, description="Price of one GPU-hour of the serving GPU.")
