"""Domains: shapes, products (space x time), CSG, sampling with outward normals, grids."""

from .base import Boundary, Geometry, Region, Slice
from .csg import Difference, Intersection, Union
from .product import Product, contains_factor, sample_region, time_factor
from .sampling import METHODS, unit_cube
from .shapes import Ball, Box, Disk, Interval, Polygon, Rectangle, Time

__all__ = [
    "Ball", "Boundary", "Box", "Difference", "Disk", "Geometry", "Intersection", "Interval", "METHODS",
    "Polygon", "Product", "Rectangle", "Region", "Slice", "Time", "Union", "contains_factor",
    "sample_region", "time_factor", "unit_cube",
]
