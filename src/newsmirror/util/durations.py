"""Durations written the way people write them: '90s', '30m', '1h', '2d'."""

from __future__ import annotations

import re

from ..models import ConfigError

_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhd]?)", re.IGNORECASE)


def parse_duration(text: str, *, name: str = "--every") -> float:
    """'30m', '1h', '90s', '1.5h', '2d' or plain seconds -> seconds (> 0).
    `name` is the option or setting the text came from, for the error."""
    match = _DURATION.fullmatch(text.strip())
    seconds = float(match.group(1)) * _UNITS[(match.group(2) or "s").lower()] if match else 0.0
    if seconds <= 0:
        raise ConfigError(name, f"{text!r} is not a duration like 90s, 30m, 1h or 2d")
    return seconds
