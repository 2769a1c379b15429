"""ParaView output: a ``.vtu`` for steady fields, an XDMF time series for time-dependent ones.

The XDMF file follows meshio's layout (one mesh grid, then a temporal collection that includes its
topology and geometry), so ``meshio.xdmf.TimeSeriesReader`` and ParaView both read it. Its heavy data
lives in ``<name>.xdmf.h5`` beside it. (meshio's own writer puts the data in ``<stem>.h5`` in the
current directory, which would overwrite the solution file of the same stem.)
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Mapping

import h5py
import meshio
import numpy as np

from .atomic import atomic_path

_CELLS = {1: ("line", "Polyline"), 2: ("quad", "Quadrilateral"), 3: ("hexahedron", "Hexahedron")}


def grid_mesh(axes: Mapping[str, np.ndarray], mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, str]:
    """Points (p, 3) and cells (c, 2^d) of a tensor-product grid in 1-3 dimensions.

    Cells with a vertex outside ``mask`` (a boolean array of the grid's shape) are left out.
    """
    arrays = list(axes.values())
    d = len(arrays)
    if d not in _CELLS:
        raise ValueError(f"VTK export handles 1 to 3 spatial dimensions, got {d}")
    shape = tuple(len(a) for a in arrays)
    mesh = np.meshgrid(*arrays, indexing="ij")
    points = np.zeros((int(np.prod(shape)), 3))
    for i, m in enumerate(mesh):
        points[:, i] = m.ravel()
    index = np.arange(points.shape[0]).reshape(shape)
    corners = {1: [(0,), (1,)], 2: [(0, 0), (1, 0), (1, 1), (0, 1)],
               3: [(0, 0, 0), (1, 0, 0), (1, 1, 0), (0, 1, 0), (0, 0, 1), (1, 0, 1), (1, 1, 1), (0, 1, 1)]}[d]
    cells = np.stack([index[tuple(slice(o, n - 1 + o) for o, n in zip(c, shape))].ravel() for c in corners], axis=1)
    if mask is not None:
        cells = cells[np.all(mask.ravel()[cells], axis=1)]
    return points, cells, _CELLS[d][0]


def write_vtu(path: str | os.PathLike, axes: Mapping[str, np.ndarray], fields: Mapping[str, np.ndarray],
              mask: np.ndarray | None = None) -> None:
    """Steady fields (each of the grid's shape) as an unstructured VTK file."""
    points, cells, kind = grid_mesh(axes, mask)
    mesh = meshio.Mesh(points, [(kind, cells)], point_data={k: np.asarray(v, dtype=np.float64).ravel() for k, v in fields.items()})
    with atomic_path(path, suffix=".vtu") as tmp:
        meshio.write(tmp, mesh, file_format="vtu")


def write_xdmf_series(path: str | os.PathLike, axes: Mapping[str, np.ndarray], times: np.ndarray,
                      fields: Mapping[str, np.ndarray], mask: np.ndarray | None = None) -> Path:
    """Time-dependent fields, each of shape ``(*spatial grid, n_times)``, as an XDMF time series.

    Returns the path of the heavy-data file written beside ``path``.
    """
    path = Path(path)
    heavy = path.with_name(path.name + ".h5")
    points, cells, kind = grid_mesh(axes, mask)
    xdmf_kind = dict(_CELLS.values())[kind]
    root = ET.Element("Xdmf", Version="3.0")
    domain = ET.SubElement(root, "Domain")
    mesh_grid = ET.SubElement(domain, "Grid", Name="mesh", GridType="Uniform")
    topo = ET.SubElement(mesh_grid, "Topology", TopologyType=xdmf_kind, NumberOfElements=str(len(cells)),
                         NodesPerElement=str(cells.shape[1]))
    _item(topo, f"{heavy.name}:/mesh/topology", cells.shape, "Int", 8)
    geom = ET.SubElement(mesh_grid, "Geometry", GeometryType="XYZ")
    _item(geom, f"{heavy.name}:/mesh/geometry", points.shape, "Float", 8)
    series = ET.SubElement(domain, "Grid", Name="TimeSeries", GridType="Collection", CollectionType="Temporal")
    ET.register_namespace("xi", "http://www.w3.org/2001/XInclude")
    with atomic_path(heavy, suffix=".h5") as tmp_heavy:
        with h5py.File(tmp_heavy, "w") as h5:
            h5["mesh/topology"] = cells.astype(np.int64)
            h5["mesh/geometry"] = points
            for j, t in enumerate(np.asarray(times, dtype=float)):
                grid = ET.SubElement(series, "Grid")
                ET.SubElement(grid, "{http://www.w3.org/2001/XInclude}include",
                              xpointer='xpointer(//Grid[@Name="mesh"]/*[self::Topology or self::Geometry])')
                ET.SubElement(grid, "Time", Value=repr(float(t)))
                for name, values in fields.items():
                    data = np.asarray(values, dtype=np.float64)[..., j].ravel()
                    h5[f"data/{j}/{name}"] = data
                    attr = ET.SubElement(grid, "Attribute", Name=name, AttributeType="Scalar", Center="Node")
                    _item(attr, f"{heavy.name}:/data/{j}/{name}", data.shape, "Float", 8)
        with atomic_path(path, suffix=".xdmf") as tmp:
            ET.ElementTree(root).write(tmp, xml_declaration=True, encoding="utf-8")
    return heavy


def _item(parent: ET.Element, text: str, shape: tuple[int, ...], number: str, precision: int) -> None:
    item = ET.SubElement(parent, "DataItem", Dimensions=" ".join(map(str, shape)), NumberType=number,
                         Precision=str(precision), Format="HDF")
    item.text = text
