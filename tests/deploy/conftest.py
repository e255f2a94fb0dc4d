"""Real deployment parts the tests start on this machine: PgBouncer from Debian, and PostgreSQL
clusters of their own (a primary and its streaming replica)."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import DB_KIND, IN_CI, free_port, postgresql_url


def missing(what: str, package: str) -> None:
    message = f"{what} is not installed (Debian package {package}; .ci/run installs it)"
    if IN_CI:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def postgresql_pass() -> None:
    if DB_KIND != "postgresql":
        pytest.skip("PostgreSQL deployment parts: run in the PostgreSQL pass of `make test`")


def as_postgres(args: list[str]) -> list[str]:
    """PostgreSQL and PgBouncer refuse to run as root: run them as the postgres user."""
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


def owned_folder(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(path, "postgres", "postgres")
        for parent in [path, *path.parents]:  # the postgres user must be able to reach it
            if str(parent) in ("/", "/tmp"):
                break
            parent.chmod(parent.stat().st_mode | 0o711)
    return path


def wait_for_port(port: int, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on port {port}")


def pg_bin(name: str) -> str:
    """A PostgreSQL server program (initdb, pg_ctl, pg_basebackup) of the installed version."""
    found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    if found:
        return str(found[-1])
    path = shutil.which(name)
    if not path:
        missing(name, "postgresql")
    return path


@pytest.fixture
def pgbouncer(tmp_path):
    """PgBouncer in transaction mode in front of the test database, two server connections per
    database and user (so that clients share them, as in production)."""
    postgresql_pass()
    binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
    if not os.path.exists(binary):
        missing("pgbouncer", "pgbouncer")
    target = sa.make_url(postgresql_url())
    folder = owned_folder(tmp_path / "pgbouncer")
    port = free_port()
    (folder / "userlist.txt").write_text('"postgres" ""\n')
    (folder / "pgbouncer.ini").write_text(f"""
[databases]
{target.database} = host={target.host or '127.0.0.1'} port={target.port or 5432} dbname={target.database}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {folder}/userlist.txt
pool_mode = transaction
default_pool_size = 2
max_client_conn = 200
logfile = {folder}/pgbouncer.log
pidfile = {folder}/pgbouncer.pid
admin_users = postgres
; as many installations do, so that clients sending startup options connect at all (the options are lost)
ignore_startup_parameters = options
""")
    for name in ("userlist.txt", "pgbouncer.ini"):
        if os.geteuid() == 0:
            shutil.chown(folder / name, "postgres", "postgres")
    process = subprocess.Popen(as_postgres([binary, str(folder / "pgbouncer.ini")]),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
    except TimeoutError:
        process.kill()
        log = folder / "pgbouncer.log"
        pytest.fail(log.read_text() if log.exists() else "pgbouncer did not start")
    url = target.set(host="127.0.0.1", port=port).render_as_string(hide_password=False)
    yield {"url": url, "port": port, "log": folder / "pgbouncer.log"}
    process.terminate()
    process.wait(timeout=10)


class Cluster:
    """A PostgreSQL cluster of the test's own, on its own port and socket folder."""

    def __init__(self, folder: Path, port: int):
        self.folder, self.port = folder, port
        self.data = folder / "data"

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/learning"

    def start(self) -> None:
        subprocess.run(as_postgres([pg_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.folder / "server.log"),
                                    "-o", f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1",
                                    "-w", "-t", "60", "start"]), check=True, capture_output=True)

    def stop(self) -> None:
        subprocess.run(as_postgres([pg_bin("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"]),
                       capture_output=True)

    def sql(self, statement: str, database: str = "learning"):
        engine = sa.create_engine(f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}",
                                  isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                result = conn.execute(sa.text(statement))
                return result.scalar() if result.returns_rows else None
        finally:
            engine.dispose()


def start_replica_pair(root: Path) -> tuple[Cluster, Cluster]:
    """A primary cluster made by initdb with a database ``learning``, and a hot-standby replica of it
    made by pg_basebackup, streaming on another port (as an operator sets one up); both started."""
    primary = Cluster(owned_folder(root / "primary"), free_port())
    replica = Cluster(owned_folder(root / "replica"), free_port())
    subprocess.run(as_postgres([pg_bin("initdb"), "-D", str(primary.data), "-U", "postgres", "--auth=trust",
                                "-E", "UTF8", "--locale=C.UTF-8"]), check=True, capture_output=True)
    primary.start()
    try:
        primary.sql("CREATE DATABASE learning", database="postgres")
        subprocess.run(as_postgres([pg_bin("pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres",
                                    "-D", str(replica.data), "-R", "-X", "stream", "-c", "fast"]),
                       check=True, capture_output=True)
        replica.start()
    except Exception:
        primary.stop()
        raise
    return primary, replica


def wait_replayed(primary: Cluster, replica: Cluster, seconds: float = 30) -> None:
    """Until the replica has replayed everything the primary has written so far."""
    from learning.replica import lsn_value

    target = lsn_value(primary.sql("SELECT pg_current_wal_lsn()::text"))
    deadline = time.monotonic() + seconds
    while lsn_value(replica.sql("SELECT pg_last_wal_replay_lsn()::text")) < target:
        if time.monotonic() > deadline:
            raise TimeoutError("the replica did not catch up")
        time.sleep(0.05)


@pytest.fixture(scope="module")
def streaming_replica(tmp_path_factory):
    postgresql_pass()
    primary, replica = start_replica_pair(owned_folder(tmp_path_factory.mktemp("replication")))
    try:
        assert replica.sql("SELECT pg_is_in_recovery()") is True
        yield primary, replica
    finally:
        replica.stop()
        primary.stop()
