"""The baseline B: pgbench's ``tpcb-like`` on the same server, in the same run."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

from sqlalchemy import create_engine, make_url, text

PGBENCH_SCHEMA = "yirong_pgbench"
SCALE = 10


def _env(url: str) -> dict[str, str]:
    parsed = make_url(url)
    env = dict(os.environ)
    env["PGOPTIONS"] = f"-c search_path={PGBENCH_SCHEMA}"
    for key, value in (
        ("PGHOST", parsed.host),
        ("PGPORT", parsed.port),
        ("PGUSER", parsed.username),
        ("PGPASSWORD", parsed.password),
        ("PGDATABASE", parsed.database),
    ):
        if value is not None:
            env[key] = str(value)
    return env


def _ensure_initialised(url: str) -> None:
    engine = create_engine(make_url(url).set(drivername="postgresql+psycopg"))
    with engine.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS {PGBENCH_SCHEMA}"))
        ready = conn.execute(
            text(
                "SELECT count(*) FROM pg_tables "
                "WHERE schemaname = :s AND tablename = 'pgbench_branches'"
            ),
            {"s": PGBENCH_SCHEMA},
        ).scalar_one()
    engine.dispose()
    if not ready:
        subprocess.run(
            ["pgbench", "-i", "-q", "-s", str(SCALE)],
            env=_env(url),
            check=True,
            capture_output=True,
        )


def pgbench_tps(url: str, *, seconds: float, clients: int = 8) -> float:
    if shutil.which("pgbench") is None:
        raise RuntimeError("pgbench is not installed (Debian: postgresql-client)")
    _ensure_initialised(url)
    done = subprocess.run(
        [
            "pgbench",
            "-b",
            "tpcb-like",
            "-M",
            "prepared",
            "-c",
            str(clients),
            "-j",
            "2",
            "-T",
            str(max(1, round(seconds))),
        ],
        env=_env(url),
        check=True,
        capture_output=True,
        text=True,
    )
    match = re.search(r"tps = ([0-9.]+)", done.stdout)
    if match is None:
        raise RuntimeError(f"could not read pgbench's output:\n{done.stdout}\n{done.stderr}")
    return float(match.group(1))
