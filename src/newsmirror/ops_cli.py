"""Subcommands for operating a mirror: status, watch, publish, retention.
(Filled in by the operations work; each entry registers one subcommand.)"""

from __future__ import annotations

import argparse
from collections.abc import Callable

OPS_COMMANDS: list[Callable[[argparse._SubParsersAction, argparse.ArgumentParser], None]] = []
