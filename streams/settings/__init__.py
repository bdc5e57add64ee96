"""Settings of each component, read from ``INFERWATCH_*`` environment variables.

One settings object per component; every field has its default and its doc together.
:func:`load` turns a validation failure into a :class:`~streams.errors.ConfigError`
that names the environment variable, so a bad setting fails at start, not mid-stream.
Secrets are ``SecretStr`` and never logged.

One module per component (:mod:`.kafka`, :mod:`.inference`, :mod:`.monitor`,
:mod:`.clickhouse`, :mod:`.alerting`, :mod:`.web`, :mod:`.cost`, :mod:`.retrain`,
:mod:`.worker`); this package re-exports them. :mod:`.private_fields` is the
private-fields policy and :mod:`.values` the checks several settings share. May import
:mod:`streams.wire`, :mod:`streams.telemetry` and :mod:`streams.experiments`.
"""

from __future__ import annotations

import re
from typing import TypeVar, get_args

from pydantic import SecretStr, ValidationError
from pydantic_settings import BaseSettings

from streams.errors import ConfigError
from streams.settings.alerting import AlertingSettings, GrafanaSettings
from streams.settings.clickhouse import ClickHouseSettings
from streams.settings.cost import CostSettings
from streams.settings.inference import InferenceSettings, parse_split
from streams.settings.kafka import KafkaSettings
from streams.settings.monitor import HealthSettings, MonitorSettings
from streams.settings.retrain import RetrainSettings
from streams.settings.web import WebSettings
from streams.settings.worker import ROLES, WorkerConfig

__all__ = ["AlertingSettings", "ClickHouseSettings", "CostSettings", "GrafanaSettings",
           "HealthSettings", "InferenceSettings", "KafkaSettings", "MonitorSettings",
           "RetrainSettings", "WebSettings", "load", "parse_split", "variables"]
__all__ += ["ROLES", "WorkerConfig"]  # the worker's, gathering the settings above

S = TypeVar("S", bound=BaseSettings)
_SECRETISH = re.compile("KEY|TOKEN|SECRET|PASSWORD")
_USERINFO = re.compile(r"(?<=://)[^/@\s]+@")


def load(cls: type[S]) -> S:
    """Build ``cls`` from the environment, or raise ConfigError naming the variable."""
    try:
        return cls()
    except ValidationError as exc:
        prefix = cls.model_config.get("env_prefix", "")
        problems = []
        for err in exc.errors():
            if not err["loc"]:  # a check across fields: its message names them, no input shown
                problems.append(err["msg"].removeprefix("Value error, "))
                continue
            name = "_".join(str(p) for p in err["loc"]).upper()
            value = err.get("input")
            if isinstance(value, str):  # a URL's user:password@ never reaches a log
                value = _USERINFO.sub("***@", value)
            shown = "" if _SECRETISH.search(name) else f" (got {value!r})"
            problems.append(f"{prefix}{name}: {err['msg']}{shown}")
        raise ConfigError("bad setting: " + "; ".join(problems)) from None


def variables() -> dict[str, bool]:
    """Every ``INFERWATCH_*`` variable a settings class here reads, and whether it is a
    secret (a ``SecretStr`` field): what a deployment's ConfigMap and Secret may hold.

    >>> names = variables()
    >>> names["INFERWATCH_KAFKA_BOOTSTRAP"], names["INFERWATCH_ALERTING_WEBHOOK_TOKEN"]
    (False, True)
    """
    found: dict[str, bool] = {}
    for cls in list(globals().values()):
        if isinstance(cls, type) and issubclass(cls, BaseSettings) and cls is not BaseSettings:
            prefix = cls.model_config.get("env_prefix", "")
            for name, info in cls.model_fields.items():
                kinds = (info.annotation, *get_args(info.annotation))
                found[f"{prefix}{name}".upper()] = SecretStr in kinds
    return found
