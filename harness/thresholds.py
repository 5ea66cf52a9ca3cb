"""Thresholds: the one model of the limits a group's results must meet.

A suite's backends carry ``thresholds``, its ``[check]`` table holds the same
limits plus where the baseline is (:class:`CheckConfig`), and ``ocr-harness check``
and the pytest plugin take them as arguments. This module is only the schema, so
the suite can validate them without importing the gate (:mod:`harness.check`).
Rates and ratios are written as ``0.05``, ``"5%"`` or ``"5pp"``.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from harness.errors import ConfigError

_QUANTITY = re.compile(r"^\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*(%|pp)?\s*$")


def parse_quantity(value: Any, *, key: str) -> float:
    """A rate or ratio as a fraction: ``0.05``, ``"5%"`` and ``"5pp"`` are all 0.05.

    ``pp`` (percentage points) is the natural unit of a CER increase; ``%`` of a slowdown.
    Raises ConfigError naming ``key``.
    """
    try:
        return _quantity(value)
    except ValueError as error:
        raise ConfigError(f"{key}: {error}") from None


def _quantity(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError(f"expected a number such as 0.02, '2%' or '0.5pp', got {value!r}")
    if isinstance(value, int | float):
        number = float(value)
    else:
        match = _QUANTITY.match(str(value))
        if not match:
            raise ValueError(
                f"cannot read {value!r} as a number: write a fraction (0.02), a percentage ('2%') "
                "or percentage points ('0.5pp')"
            )
        number = float(match.group(1)) / (100 if match.group(2) else 1)
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"must be a non-negative number, got {value!r}")
    return number


def _optional_quantity(value: Any) -> float | None:
    return None if value is None else _quantity(value)  # a ValueError: pydantic adds the key path


#: A rate or ratio limit as written in a suite: 0.05, "5%" or "5pp".
Quantity = Annotated[float | None, BeforeValidator(_optional_quantity)]

#: The limits that need a baseline to compare with.
BASELINE_LIMITS = ("max_cer_increase", "max_wer_increase", "max_slowdown")


class Thresholds(BaseModel):
    """Limits on a group's results (None: not checked)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_cer: Quantity = Field(default=None, description="highest micro CER allowed (0.05, '5%')")
    max_wer: Quantity = Field(default=None, description="highest micro WER allowed")
    max_cer_unordered: Quantity = Field(
        default=None, description="highest order-independent CER allowed (reading order ignored)"
    )
    max_bow_wer: Quantity = Field(default=None, description="highest bag-of-words WER allowed")
    min_pages_per_s: float | None = Field(default=None, gt=0, description="lowest throughput allowed")
    max_failed: int | None = Field(default=None, ge=0, description="most failed jobs allowed per group")
    max_cer_increase: Quantity = Field(
        default=None, description="largest CER rise over the baseline ('0.5pp')"
    )
    max_wer_increase: Quantity = Field(default=None, description="largest WER rise over the baseline")
    max_slowdown: Quantity = Field(
        default=None, description="largest drop in pages/s against the baseline ('10%')"
    )

    @classmethod
    def limits_of(cls, data: BaseModel | dict[str, Any] | None) -> Thresholds:
        """The limits of a [check] table, a backend's thresholds or a dict (other keys ignored)."""
        values = data.model_dump() if isinstance(data, BaseModel) else dict(data or {})
        return cls.model_validate(
            {name: values[name] for name in cls.model_fields if values.get(name) is not None}
        )

    def merged_over(self, other: Thresholds) -> Thresholds:
        """These limits, falling back to ``other`` for keys not set here."""
        return Thresholds(
            **{name: getattr(self, name) if getattr(self, name) is not None else getattr(other, name)
               for name in Thresholds.model_fields}
        )  # fmt: skip

    def any(self) -> bool:
        return any(getattr(self, name) is not None for name in Thresholds.model_fields)

    def wants_baseline(self) -> bool:
        return any(getattr(self, name) is not None for name in BASELINE_LIMITS)


class CheckConfig(Thresholds):
    """The suite's ``[check]`` table: limits for every group, and the baseline to compare with."""

    baseline: str | None = Field(default=None, description="run folder or summary.csv to compare with")
