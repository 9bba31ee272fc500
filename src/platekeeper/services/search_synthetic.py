"""Realistic synthetic reads for search tests and the search benchmark, reproducible from a seed.

- plates in the formats of California and its neighbours (and personalised plates);
- fixed cameras scattered across a city (San José by default), each at a street corner;
- a daily traffic cycle (morning and evening peaks, quiet nights, in the city's time);
- repeat vehicles: a fifth of the vehicles (commuters) make most of the reads, each past its own few cameras;
- reader errors: the top guess is sometimes a confusable swap (O/0, B/8 …), with alternatives beside it.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
import string
from collections.abc import Iterator
from dataclasses import dataclass

from platekeeper.policy.plate_patterns import CONFUSABLES
from platekeeper.services.search_load import BulkRead

LETTERS = string.ascii_uppercase
DIGITS = string.digits
# (weight, pattern): 9 digit, A letter, X either; roughly the mix a California city's cameras see.
PLATE_FORMATS = (
    (62, "9AAA999"),  # California passenger
    (8, "9A99999"),  # California commercial
    (6, "AAA9999"),  # Arizona, Texas, Washington
    (4, "999A999"),  # Nevada
    (4, "999AAA"),  # Oregon
    (3, "9AA9999"),  # older formats
    (13, "XXXXXX"),  # personalised, 2–7 characters (length varied below)
)
COLOURS = (("white", 24), ("black", 21), ("grey", 17), ("silver", 14), ("blue", 9), ("red", 9), ("green", 3))
# Vehicles on the road by hour of the day (local time): morning and evening peaks.
HOURLY = (2, 1, 1, 1, 2, 5, 9, 14, 15, 11, 9, 9, 10, 10, 10, 11, 13, 15, 13, 9, 7, 5, 4, 3)
CITY = (37.25, -121.98, 37.40, -121.78)  # San José: south, west, north, east
PACIFIC_UTC_OFFSET = dt.timedelta(hours=-8)  # fixed: the cycle only needs to be roughly in local time
_CONFUSE = {**CONFUSABLES, **{v: k for k, v in CONFUSABLES.items()}}


@dataclass(frozen=True)
class City:
    cameras: list[tuple[int, float, float]]  # (camera id, lat, lon)
    agency_id: int


def random_plate(rng: random.Random) -> str:
    pattern = rng.choices([f for _, f in PLATE_FORMATS], weights=[w for w, _ in PLATE_FORMATS])[0]
    if pattern == "XXXXXX":
        pattern = "X" * rng.randint(2, 7)
    pools = {"9": DIGITS, "A": LETTERS, "X": LETTERS + DIGITS}
    return "".join(rng.choice(pools[c]) for c in pattern)


def misread(rng: random.Random, plate: str) -> str:
    """What a reader gets wrong: a confusable swap mostly, sometimes any one character."""
    positions = [i for i, c in enumerate(plate) if c in _CONFUSE]
    if positions and rng.random() < 0.8:
        i = rng.choice(positions)
        return plate[:i] + _CONFUSE[plate[i]] + plate[i + 1 :]
    i = rng.randrange(len(plate))
    return plate[:i] + rng.choice(LETTERS + DIGITS) + plate[i + 1 :]


def camera_sites(rng: random.Random, count: int) -> list[tuple[float, float]]:
    south, west, north, east = CITY
    return [(round(rng.uniform(south, north), 6), round(rng.uniform(west, east), 6)) for _ in range(count)]


@dataclass
class Fleet:
    plates: list[str]
    colours: list[str]
    routes: list[tuple[int, ...]]  # camera indexes each vehicle passes
    cum_weights: list[float]


def fleet(rng: random.Random, vehicles: int, cameras: int) -> Fleet:
    plates = [random_plate(rng) for _ in range(vehicles)]
    colours = rng.choices([c for c, _ in COLOURS], weights=[w for _, w in COLOURS], k=vehicles)
    routes = [tuple(rng.sample(range(cameras), k=min(cameras, rng.randint(1, 4)))) for _ in range(vehicles)]
    # Commuters (a fifth) are each read about 16 times as often as the others.
    weights = [16.0 if rng.random() < 0.2 else 1.0 for _ in range(vehicles)]
    return Fleet(plates, colours, routes, list(itertools.accumulate(weights)))


def _candidates(rng: random.Random, plate: str, confidence: float) -> tuple[str, tuple[tuple[str, float], ...]]:
    top = plate if rng.random() < 0.93 else misread(rng, plate)
    alternatives = {top: confidence}
    for _ in range(rng.choice((0, 1, 1, 2))):
        alternatives.setdefault(misread(rng, plate if rng.random() < 0.7 else top), round(confidence * 0.5, 3))
    if top != plate and rng.random() < 0.7:
        alternatives.setdefault(plate, round(confidence * 0.6, 3))
    return top, tuple(alternatives.items())


def generate(
    city: City,
    *,
    reads: int,
    seed: int,
    start: dt.date,
    days: int,
    batch: int = 50_000,
    vehicles: int | None = None,
    spread: bool = False,
) -> Iterator[list[BulkRead]]:
    """``reads`` reads over ``days`` days from ``start``, in batches; the same seed gives the same reads.

    The days come in order, as a city's feed brings them (each batch covers the next few days); with
    ``spread`` every batch is spread over the whole period instead, like an import of unsorted history."""
    rng = random.Random(seed)  # noqa: S311 (synthetic data, not security)
    cars = fleet(rng, vehicles or max(50, reads // 20), len(city.cameras))
    hours = list(range(24))
    made = 0
    while made < reads:
        size = min(batch, reads - made)
        chosen = rng.choices(range(len(cars.plates)), cum_weights=cars.cum_weights, k=size)
        if spread:
            day_offsets = [rng.randrange(days) for _ in range(size)]
        else:
            day_offsets = [(made + i) * days // reads for i in range(size)]
        local_hours = rng.choices(hours, weights=HOURLY, k=size)
        out: list[BulkRead] = []
        for vehicle, day_offset, hour in zip(chosen, day_offsets, local_hours, strict=True):
            camera_id, lat, lon = city.cameras[rng.choice(cars.routes[vehicle])]
            local = dt.datetime.combine(start + dt.timedelta(days=day_offset), dt.time(hour), tzinfo=dt.UTC)
            captured = local - PACIFIC_UTC_OFFSET + dt.timedelta(seconds=rng.randrange(3600))
            confidence = round(rng.uniform(0.55, 0.99), 3)
            top, candidates = _candidates(rng, cars.plates[vehicle], confidence)
            out.append(
                BulkRead(
                    agency_id=city.agency_id,
                    camera_id=camera_id,
                    plate=top,
                    confidence=confidence,
                    captured_at=captured,
                    latitude=lat,
                    longitude=lon,
                    candidates=candidates,
                    vehicle_colour=cars.colours[vehicle],
                    region="us-ca",
                    uid=f"{seed:04x}{made + len(out):012x}-synthetic",
                )
            )
        made += size
        yield out
