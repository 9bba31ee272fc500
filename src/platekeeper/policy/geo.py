"""Places for search: distances, a grid of cells the database indexes, circles and polygons. Pure.

The grid is what makes "within R metres" fast without PostGIS: each read stores
the integer id of the CELL_DEG × CELL_DEG cell it lies in; a radius or polygon
query asks for the few cells its bounding box covers (an indexed ``IN``), and
the exact distance or point-in-polygon test runs on what comes back.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

EARTH_RADIUS_M = 6_371_008.8
CELL_DEG = 0.005  # about 555 m north-south, 440 m east-west at San José's latitude
_COLUMNS = round(360 / CELL_DEG)
MAX_CELLS = 400  # a larger area is not a canvass: the time window or cameras must narrow it


def cell_of(lat: float | None, lon: float | None) -> int | None:
    """The grid cell id of a point (None for a read without a location)."""
    if lat is None or lon is None:
        return None
    row = math.floor((lat + 90.0) / CELL_DEG)
    column = math.floor((lon + 180.0) / CELL_DEG) % _COLUMNS
    return row * _COLUMNS + column


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


@dataclass(frozen=True)
class Box:
    south: float
    west: float
    north: float
    east: float

    def cells(self) -> list[int] | None:
        """The cells the box touches, or None when there are too many to list (then the box filters alone)."""
        rows = range(math.floor((self.south + 90) / CELL_DEG), math.floor((self.north + 90) / CELL_DEG) + 1)
        cols = range(math.floor((self.west + 180) / CELL_DEG), math.floor((self.east + 180) / CELL_DEG) + 1)
        if len(rows) * len(cols) > MAX_CELLS:
            return None
        return [r * _COLUMNS + (c % _COLUMNS) for r in rows for c in cols]


@dataclass(frozen=True)
class Circle:
    lat: float
    lon: float
    radius_m: float

    def box(self) -> Box:
        dlat = math.degrees(self.radius_m / EARTH_RADIUS_M)
        dlon = dlat / max(math.cos(math.radians(self.lat)), 1e-6)
        return Box(self.lat - dlat, self.lon - dlon, self.lat + dlat, self.lon + dlon)

    def contains(self, lat: float, lon: float) -> bool:
        return distance_m(self.lat, self.lon, lat, lon) <= self.radius_m

    def describe(self) -> dict[str, float]:
        return {"lat": self.lat, "lon": self.lon, "radius_m": self.radius_m}


@dataclass(frozen=True)
class Polygon:
    points: tuple[tuple[float, float], ...]  # (lat, lon), not closed: the last joins the first

    def box(self) -> Box:
        lats = [p[0] for p in self.points]
        lons = [p[1] for p in self.points]
        return Box(min(lats), min(lons), max(lats), max(lons))

    def contains(self, lat: float, lon: float) -> bool:
        """Even-odd ray casting; city-sized polygons are flat enough for it."""
        inside = False
        pts = self.points
        j = len(pts) - 1
        for i in range(len(pts)):
            (yi, xi), (yj, xj) = pts[i], pts[j]
            if (yi > lat) != (yj > lat) and lon < (xj - xi) * (lat - yi) / (yj - yi) + xi:
                inside = not inside
            j = i
        return inside

    def describe(self) -> list[list[float]]:
        return [[lat, lon] for lat, lon in self.points]


def parse_polygon(text: str) -> Polygon:
    """``"lat,lon;lat,lon;lat,lon"`` (at least three corners), as the map and the API send it."""
    points: list[tuple[float, float]] = []
    for pair in text.strip().strip(";").split(";"):
        lat_text, _, lon_text = pair.partition(",")
        lat, lon = float(lat_text), float(lon_text)
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise ValueError(f"{pair!r} is not a latitude,longitude pair")
        points.append((lat, lon))
    if len(points) < 3 or len(points) > 100:
        raise ValueError("a polygon needs between 3 and 100 corners")
    return Polygon(tuple(points))
