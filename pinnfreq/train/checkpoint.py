"""Checkpoints: ``torch.save`` of plain state dicts, read back with ``weights_only=True``."""

from __future__ import annotations

import os
from typing import Any

import torch

from ..io.atomic import atomic_path

FORMAT = "pinnfreq.checkpoint"
VERSION = 1


def save_checkpoint(path: str | os.PathLike, state: dict[str, Any]) -> None:
    with atomic_path(path) as tmp:
        torch.save({"format": FORMAT, "version": VERSION, **state}, tmp)


def load_checkpoint(path: str | os.PathLike, device: torch.device | str = "cpu") -> dict[str, Any]:
    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as err:  # truncated, foreign or from an unsafe pickle
        raise ValueError(f"{path}: not a readable pinnfreq checkpoint ({type(err).__name__}: {err})") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ValueError(f"{path}: not a pinnfreq checkpoint (no format tag {FORMAT!r})")
    if state.get("version", 0) > VERSION:
        raise ValueError(f"{path}: checkpoint version {state['version']} is newer than this pinnfreq reads ({VERSION})")
    return state
