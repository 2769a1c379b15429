"""File formats: solution and reference HDF5 files, VTK/XDMF for ParaView, atomic writes."""

from .atomic import atomic_path

__all__ = ["atomic_path"]
