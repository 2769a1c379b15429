"""Small HDF5 helpers: atomic writes of nested groups, and opening files with clear errors."""

from __future__ import annotations

import contextlib
import os
from typing import Any, Iterator, Mapping

import h5py
import numpy as np

from .atomic import atomic_path


def write_h5(path: str | os.PathLike, groups: Mapping[str, Any], attrs: Mapping[str, Any] | None = None) -> None:
    """Write nested mappings of arrays (``{"fields": {"u": arr}}``) and root attributes, atomically."""
    with atomic_path(path, suffix=".h5") as tmp:
        with h5py.File(tmp, "w") as f:
            for k, v in (attrs or {}).items():
                f.attrs[k] = v
            _write_group(f, groups)


def _write_group(group: h5py.Group, items: Mapping[str, Any]) -> None:
    for name, value in items.items():
        if isinstance(value, Mapping):
            _write_group(group.require_group(name), value)
        elif isinstance(value, (list, tuple)) and value and isinstance(value[0], str):
            group.create_dataset(name, data=np.array(value, dtype=h5py.string_dtype()))
        elif isinstance(value, (list, tuple)) and not value:
            group.create_dataset(name, data=np.zeros(0))
        else:
            group.create_dataset(name, data=np.asarray(value))


@contextlib.contextmanager
def open_h5(path: str | os.PathLike, expected_format: str) -> Iterator[h5py.File]:
    """Open an HDF5 file for reading and check its ``format`` attribute; errors name the file."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such file")
    try:
        f = h5py.File(path, "r")
    except OSError as err:
        raise ValueError(f"{path}: not a readable HDF5 file (truncated or not HDF5: {err})") from None
    try:
        fmt = f.attrs.get("format")
        fmt = fmt.decode() if isinstance(fmt, bytes) else fmt
        if fmt != expected_format:
            raise ValueError(f"{path}: not a {expected_format} file (its format attribute is {fmt!r})")
        try:
            yield f
        except KeyError as err:
            raise ValueError(f"{path}: incomplete {expected_format} file, missing {err}") from None
    finally:
        f.close()


def read_flat(group: h5py.Group) -> dict[str, np.ndarray]:
    """Every dataset under ``group`` by its relative path (``"term/pde"``)."""
    out: dict[str, np.ndarray] = {}
    group.visititems(lambda name, obj: out.__setitem__(name, obj[()]) if isinstance(obj, h5py.Dataset) else None)
    return out
