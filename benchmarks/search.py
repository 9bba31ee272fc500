"""Search benchmark (issue 5): bulk ingest rate and query latency over a city's synthetic reads.

    python benchmarks/search.py --backend sqlite --reads 1000000
    python benchmarks/search.py --backend postgres --reads 10000000 --url postgresql+psycopg://postgres@127.0.0.1/postgres

Builds a fresh database (PostgreSQL: a new database on the server at --url, dropped
afterwards unless --keep), loads seeded synthetic reads (services/search_synthetic.py)
through the bulk loader (COPY on PostgreSQL; the days in order, as a city's feed brings
them, or with --spread every batch over the whole year), then times exact, wildcard, fuzzy and
canvass (500 m, ±1 h) queries through ``search_query.find`` (the service's query path,
without the audit append, which is timed on its own). Results are merged into
benchmarks/results/search.json under backend and size. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from platekeeper.policy.geo import Circle
from platekeeper.policy.plate_patterns import PlateQuery
from platekeeper.policy.purposes import PurposeStatement
from platekeeper.services import search
from platekeeper.services.agencies import home_agency
from platekeeper.services.audit import Actor
from platekeeper.services.reads import Viewer
from platekeeper.services.search_load import BulkRead, load
from platekeeper.services.search_query import Criteria, find
from platekeeper.services.search_synthetic import City, camera_sites, generate
from platekeeper.settings import Settings
from platekeeper.store import partitions
from platekeeper.store.db import transaction
from platekeeper.store.models import Camera
from platekeeper.system import System

RESULTS = Path(__file__).parent / "results" / "search.json"
TARGETS_MS = {
    "postgresql": {"exact": 10, "wildcard": 150, "fuzzy": 250, "canvass": 100},
    "sqlite": {"exact": 300, "wildcard": 300, "fuzzy": 300, "canvass": 300},
}
INGEST_TARGET = {"postgresql": 20_000, "sqlite": 5_000}
POLICE = {"law_enforcement"}
START = dt.date(2025, 1, 1)
TABLES = ("plate_read", "read_plate")


def _database(args: argparse.Namespace, workdir: Path) -> tuple[str, Callable[[], None]]:
    if args.backend == "sqlite":
        return f"sqlite:///{workdir / 'bench.sqlite'}", lambda: None
    name = f"platekeeper_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(args.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        if not args.keep:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    return make_url(args.url).set(database=name).render_as_string(hide_password=False), drop


def _city(system: System, cameras: int, seed: int) -> City:
    rng = random.Random(seed)
    with transaction(system.sessions) as session:
        agency = home_agency(session, system.profile)
        made = []
        for i, (lat, lon) in enumerate(camera_sites(rng, cameras)):
            camera = Camera(key=f"bench-{i}", agency_id=agency.id, name=f"Bench {i}", kind="fixed",
                            latitude=lat, longitude=lon, privacy_masks=[])  # fmt: skip
            session.add(camera)
            session.flush()
            made.append((camera.id, lat, lon))
        return City(made, agency.id)


def _server_cpu_seconds(engine: Engine) -> dict[int, float]:
    """CPU time (user + system) of every PostgreSQL backend of this database, by process id, from /proc: the
    server's share of a load, when the server runs on this machine (else empty)."""
    if engine.dialect.name != "postgresql":
        return {}
    with engine.connect() as conn:
        pids = conn.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")).scalars()
        pids = list(pids)
    ticks = os.sysconf("SC_CLK_TCK")
    out = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[pid] = (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return out


def _ingest(system: System, city: City, args: argparse.Namespace) -> tuple[float, float, float, list[BulkRead]]:
    """Load every read; returns reads per second of the loader alone (generation not counted), the share of
    that time this process spent on the CPU (building rows; the rest is the database and waiting), the server
    backends' CPU time per read (µs; PostgreSQL on this machine), and a sample."""
    rng = random.Random(args.seed + 1)
    began = time.perf_counter()
    # Partitions are created ahead of the data in production (store/partitions.py); here, before the clock starts.
    partitions.ensure_days(system.engine, (START + dt.timedelta(days=i) for i in range(args.days + 1)))
    print(f"  partitions ready in {time.perf_counter() - began:.1f} s", file=sys.stderr, flush=True)
    sample: list[BulkRead] = []
    seconds, cpu_seconds, server_seconds, loaded = 0.0, 0.0, 0.0, 0
    batches = generate(
        city, reads=args.reads, seed=args.seed, start=START, days=args.days, batch=args.batch, spread=args.spread
    )
    for batch in batches:
        server_began = _server_cpu_seconds(system.engine)
        began, cpu_began = time.perf_counter(), time.process_time()
        load(system.engine, batch)
        seconds += time.perf_counter() - began
        cpu_seconds += time.process_time() - cpu_began
        server_after = _server_cpu_seconds(system.engine)
        server_seconds += sum(t - server_began.get(pid, 0.0) for pid, t in server_after.items())
        loaded += len(batch)
        sample.extend(rng.sample(batch, min(len(batch), 40)))
        print(f"  loaded {loaded:>11,} reads, {loaded / seconds:,.0f} reads/s", file=sys.stderr, flush=True)
    return loaded / seconds, cpu_seconds / seconds, server_seconds / loaded * 1e6, sample


def _settle(engine: Engine) -> None:
    """Statistics for the planner and, on PostgreSQL, the vacuum that autovacuum would run on the freshly
    loaded tables anyway: done before the clock starts, so the queries are timed on a settled server, not
    beside autovacuum working through ten million new rows (one such run: exact p95 37.6 ms, p50 5.9)."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM (ANALYZE)"))
    else:
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))


def _queries(sample: list[BulkRead], count: int, seed: int) -> dict[str, list[Criteria]]:
    rng = random.Random(seed)
    picks = rng.sample(sample, min(count, len(sample)))
    shapes = (
        lambda p: p[:3] + "?" + p[4:6] + "*",  # witness saw the start and most of the end: 7AB?12*
        lambda p: "?" + p[1:],  # first character unknown
        lambda p: p[:2] + "*" + p[-2:],  # beginning and end
        lambda p: "*" + p[-4:],  # only the last four
    )
    wildcard = []
    for i, read in enumerate(picks):
        plate = read.plate if len(read.plate) >= 6 else read.plate + "1"
        wildcard.append(Criteria(plate=PlateQuery.parse(shapes[i % len(shapes)](plate)), limit=200))
    fuzzy = []
    for read in picks:
        i = rng.randrange(len(read.plate))
        typo = read.plate[:i] + rng.choice("ABCDEFGHJKLMNPRTUVWXY0123456789") + read.plate[i + 1 :]
        fuzzy.append(Criteria(plate=PlateQuery.parse(typo, "fuzzy"), limit=200))
    canvass = [
        Criteria(
            circle=Circle(r.latitude or 0, r.longitude or 0, 500),
            since=r.captured_at - dt.timedelta(hours=1),
            until=r.captured_at + dt.timedelta(hours=1),
            limit=2000,
        )
        for r in picks
    ]
    exact = [Criteria(plate=PlateQuery.parse(r.plate), limit=200) for r in picks]
    return {"exact": exact, "wildcard": wildcard, "fuzzy": fuzzy, "canvass": canvass}


def _time(system: System, criteria: list[Criteria]) -> dict[str, float]:
    times, counts = [], []
    for c in criteria:
        with system.sessions() as session:
            began = time.perf_counter()
            found = find(session, c, POLICE)
            times.append((time.perf_counter() - began) * 1000)
            counts.append(len(found.hits))
    times.sort()
    return {
        "p50_ms": round(statistics.median(times), 2),
        "p95_ms": round(times[max(0, int(len(times) * 0.95) - 1)], 2),
        "max_ms": round(times[-1], 2),
        "queries": len(times),
        "mean_results": round(statistics.mean(counts), 1),
    }


def _audit_overhead(system: System, criteria: Criteria) -> float:
    """One audited search end to end (query, audit append, commit), for comparison with ``find`` alone."""
    viewer = Viewer(Actor(type="user", id="1", name="bench"), frozenset({"reads.view"}))
    purpose = PurposeStatement("criminal_investigation", "BENCH-1", None, "benchmark")
    runs = []
    for _ in range(20):
        began = time.perf_counter()
        with transaction(system.sessions) as session:
            search.search(session, viewer, purpose, criteria)
        runs.append((time.perf_counter() - began) * 1000)
    return round(statistics.median(runs), 2)


def _index_sizes(engine: Engine) -> dict[str, Any]:
    if engine.dialect.name == "postgresql":
        sql = """
        SELECT coalesce(pi.indrelid::regclass::text, i.indrelid::regclass::text) AS tbl, c.relname AS idx,
               coalesce((SELECT sum(pg_relation_size(t.relid)) FROM pg_partition_tree(c.oid) t),
                        pg_relation_size(c.oid)) AS bytes
        FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid
        LEFT JOIN pg_inherits h ON h.inhrelid = c.oid LEFT JOIN pg_index pi ON pi.indexrelid = h.inhparent
        WHERE c.relname LIKE 'ix_%' OR c.relname LIKE 'pk_%' OR c.relname LIKE 'uq_%'
        """
        with engine.connect() as conn:
            rows = conn.execute(text(sql)).all()
            tables = {
                t: conn.execute(  # pg_partition_tree lists nothing for a plain table (read_plate)
                    text(
                        f"SELECT coalesce((SELECT sum(pg_relation_size(relid)) FROM pg_partition_tree('{t}')), "
                        f"pg_relation_size('{t}'))"
                    )
                ).scalar()
                for t in ("plate_read", "read_plate")
            }
        wanted = {r.idx: round(int(r.bytes) / 2**20, 1) for r in rows if r.tbl in {"plate_read", "read_plate"}}
        return {"index_mb": wanted, "table_mb": {k: round(int(v or 0) / 2**20, 1) for k, v in tables.items()}}
    with engine.connect() as conn:
        try:
            rows = conn.execute(text("SELECT name, sum(pgsize) FROM dbstat GROUP BY name")).all()
        except Exception:
            return {"note": "dbstat not available in this SQLite build"}
    sizes = {name: round(int(size) / 2**20, 1) for name, size in rows}
    return {
        "index_mb": {k: v for k, v in sizes.items() if ("plate_read" in k or "read_plate" in k) and k not in TABLES},
        "table_mb": {k: v for k, v in sizes.items() if k in TABLES},
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="pk-bench-"))
    url, drop = _database(args, workdir)
    settings = Settings(data_dir=workdir / "data", database_url=url,
                        master_key=SecretStr("q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq8M="))  # fmt: skip
    system = System.build(settings, migrate=True)
    try:
        city = _city(system, args.cameras, args.seed)
        began = time.perf_counter()
        rate, client_cpu_share, server_us, sample = _ingest(system, city, args)
        load_seconds = time.perf_counter() - began
        _settle(system.engine)
        queries = _queries(sample, args.queries, args.seed)
        latencies = {}
        for kind, criteria in queries.items():
            _time(system, criteria[:5])  # warm the cache the way a running server has it warm
            latencies[kind] = _time(system, criteria)
            print(f"  {kind:8} {latencies[kind]}", file=sys.stderr, flush=True)
        dialect = system.engine.dialect.name
        server = _server_settings(system.engine) if dialect == "postgresql" else None
        return {
            "backend": dialect,
            "reads": args.reads,
            "days": args.days,
            "cameras": args.cameras,
            "seed": args.seed,
            "ingest_reads_per_s": round(rate),
            "ingest_order": "spread over the year" if args.spread else "days in order",
            "ingest_target_reads_per_s": INGEST_TARGET[dialect],
            # On SQLite the database works in this process; on PostgreSQL the rest of the load time is the server's.
            "ingest_client_cpu_share": round(client_cpu_share, 2),
            # PostgreSQL: CPU time of the server's backends per read loaded (µs), the load's real cost on a
            # shared machine; the client's is ingest_client_cpu_share / ingest_reads_per_s.
            "ingest_server_cpu_us_per_read": round(server_us, 1) if dialect == "postgresql" else None,
            "ingest_client_cpu_us_per_read": round(client_cpu_share / rate * 1e6, 1),
            "wall_seconds_generate_and_load": round(load_seconds, 1),
            "latency": latencies,
            "targets_p95_ms": TARGETS_MS[dialect],
            "audited_exact_search_median_ms": _audit_overhead(system, queries["exact"][0]),
            "sizes": _index_sizes(system.engine),
            "machine": {"python": platform.python_version(), "platform": platform.platform(), "cpus": _cpus()},
            "server": server,
            "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "concurrent_load_note": args.note,
        }
    finally:
        system.close()
        drop()


SERVER_SETTINGS = ("server_version", "shared_buffers", "effective_cache_size", "work_mem", "max_wal_size")


def _server_settings(engine: Engine) -> dict[str, str]:
    """The PostgreSQL settings the figures depend on (the benchmark changes none of them)."""
    with engine.connect() as conn:
        return {name: conn.execute(text(f"SELECT current_setting('{name}')")).scalar_one() for name in SERVER_SETTINGS}


def verdict(result: dict[str, Any]) -> dict[str, Any]:
    """Which targets a run met, from its own figures: p95 per query kind, and the ingest rate."""
    backend = result["backend"]
    met = {kind: figures["p95_ms"] <= TARGETS_MS[backend][kind] for kind, figures in result["latency"].items()}
    met["ingest"] = result["ingest_reads_per_s"] >= INGEST_TARGET[backend]
    return met


def report(results: dict[str, Any]) -> str:
    """The curve: every stored size of every backend, p95 against target, ingest, and the index sizes."""
    lines = []
    for backend, runs in sorted(results.items()):
        for size, result in sorted(runs.items(), key=lambda kv: int(kv[0])):
            met = result["targets_met"] = verdict(result)
            cells = [
                f"{kind} p95 {result['latency'][kind]['p95_ms']:.1f} ms (target {TARGETS_MS[backend][kind]}: "
                f"{'met' if met[kind] else 'NOT MET'})"
                for kind in ("exact", "wildcard", "fuzzy", "canvass")
            ]
            ingest = f"ingest {result['ingest_reads_per_s']:,} reads/s (target {INGEST_TARGET[backend]:,}: "
            ingest += "met)" if met["ingest"] else "NOT MET)"
            sizes = result.get("sizes", {})
            index_mb = sum(v for k, v in sizes.get("index_mb", {}).items() if k not in TABLES)
            lines.append(f"{backend} {int(size):,} reads: {ingest}; " + "; ".join(cells))
            lines.append(f"    tables {sizes.get('table_mb')} MB; indexes {index_mb:,.0f} MB in all")
    return "\n".join(lines)


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=["sqlite", "postgres"], required=True)
    parser.add_argument("--reads", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--cameras", type=int, default=200)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--batch", type=int, default=100_000)
    parser.add_argument(
        "--spread",
        action="store_true",
        help="spread every batch over the whole year (an import of "
        "unsorted history) instead of loading the days in order, as a city's feed brings them",
    )
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL database afterwards")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--note", default=None, help="what else ran on the machine meanwhile (kept with the result)")
    parser.add_argument("--report", action="store_true", help="only print the stored curve and which targets are met")
    args = parser.parse_args()
    results = json.loads(args.out.read_text()) if args.out.exists() else {}
    if not args.report:
        result = run(args)
        results = json.loads(args.out.read_text()) if args.out.exists() else {}  # another run may have written
        results.setdefault(result["backend"], {})[str(args.reads)] = result
        print(json.dumps(result, indent=2))
    print(report(results))  # also records targets_met in every stored run
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
