"""The cluster profile's PostgreSQL: the database of the Iceberg catalog (pyiceberg and Flink).

PostgreSQL 15 from Debian's packages, unpacked into the download cache by
`telemetry setup` (never a system-wide install), on 127.0.0.1:15432 only.
Clients speak TLS (the stack's server certificate, telemetry.ops.stack.tls) and
authenticate by a client certificate of the stack's CA whose CN is their role
(pg_hba `hostssl ... cert`); no other pg_hba line and no Unix socket exist, so
plaintext and certificate-less connections are refused, and no password exists.
The catalog's clients are role `telemetry` in database `iceberg`; the stack
administers the server as `postgres` (its own certificate), creating both at
every start if missing.

Who runs it: PostgreSQL refuses to run as root. Run by another user, the server
runs as that user, its home in `<data>/postgres`. Run as root (CI), it runs as
the system user `telemetry-pg` (created if missing), which cannot pass through
the folders the data folder and the cache usually sit in (/root is 0700). So
its home is /var/lib/telemetry-pipeline/postgres-<hash of the data folder>
(world-traversable parents): hard links (a copy across filesystems) of the
unpacked packages, the data folder and the TLS files, the last two its own and
0700. `<data>/postgres` links to it; a home whose link is gone belongs to a data
folder that was deleted, and is replaced at the next start.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pwd
import shutil
import signal
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import psycopg2
from psycopg2 import sql

from telemetry.core.config import Settings
from telemetry.core.errors import ServiceError
from telemetry.core.progress import Say
from telemetry.ops.host import versions
from telemetry.ops.host.layout import Layout
from telemetry.ops.host.process import exited
from telemetry.ops.stack.secrets import private_dir
from telemetry.ops.stack.services import Launch, Service, base_env
from telemetry.ops.stack.tls import ClientCert, TlsFiles, client_cert

if TYPE_CHECKING:
    from psycopg2.extensions import connection

__all__ = [
    "DATABASE",
    "PORT",
    "ROLE",
    "Home",
    "catalog_urls",
    "connect",
    "home_of",
    "pg_hba",
    "postgres_service",
    "postgresql_conf",
]

PORT = 15432
DATABASE = "iceberg"
ROLE = "telemetry"  # the catalog's clients: the CN of their certificate
SUPERUSER = "postgres"  # the stack's administration, by certificate as well
SYSTEM_USER = "telemetry-pg"
SYSTEM_ROOT = Path("/var/lib/telemetry-pipeline")
MAX_CONNECTIONS = 200  # Iceberg's catalogs per operator: see postgresql_conf
CLIENT_CERT = "client-telemetry"  # the catalog clients' certificate and key in <data>/tls


def catalog_urls(data_dir: Path) -> dict[str, str]:
    """The catalog's URLs (SQLAlchemy for pyiceberg, JDBC for Flink), which the profile keeps
    as the defaults of their settings: this PostgreSQL by the clients' certificate in
    <data>/tls. libpq reads the PEM key, the JDBC driver the same key as PKCS#8 DER (.pk8)."""
    tls = {n: quote(str(data_dir / "tls" / n), safe="/") for n in ("ca.pem", CLIENT_CERT)}
    ssl = f"sslmode=verify-full&sslrootcert={tls['ca.pem']}&sslcert={tls[CLIENT_CERT]}.pem"
    where = f"127.0.0.1:{PORT}/{DATABASE}"
    return {
        "PYICEBERG_CATALOG__TELEMETRY__URI": (
            f"postgresql+psycopg2://{ROLE}@{where}?{ssl}&sslkey={tls[CLIENT_CERT]}.key"
        ),
        "TELEMETRY_CATALOG_JDBC_URL": (
            f"jdbc:postgresql://{where}?user={ROLE}&{ssl}&sslkey={tls[CLIENT_CERT]}.pk8"
        ),
    }


@dataclass(frozen=True)
class Home:
    """Where one stack's server lives: its binaries, data folder and TLS files."""

    root: Path
    server: Path  # the unpacked packages: usr/lib/postgresql/15/bin, usr/share/..., libraries

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def tls(self) -> Path:
        return self.root / "tls"

    def bin(self, name: str) -> Path:
        major = str(versions.POSTGRES_MAJOR)
        return self.server / "usr" / "lib" / "postgresql" / major / "bin" / name

    def library_path(self) -> str:
        """LD_LIBRARY_PATH: the libraries unpacked beside the server (usr/lib/<arch>)."""
        return ":".join(str(p) for p in sorted((self.server / "usr" / "lib").glob("*-linux-*")))


def home_of(layout: Layout, uid: int | None = None) -> Home:
    """The server's home for a stack run by `uid` (default: this process's)."""
    if (os.geteuid() if uid is None else uid) != 0:
        return Home(layout.data / "postgres", layout.postgres_dir)
    digest = hashlib.sha256(str(layout.data).encode()).hexdigest()[:12]
    root = SYSTEM_ROOT / f"postgres-{digest}"
    return Home(root, root / "server")


@dataclass(frozen=True)
class Owner:
    uid: int
    gid: int


def owner() -> Owner | None:
    """The unprivileged user the server runs as when the stack runs as root, else None."""
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        entry = _create_system_user()
    if entry.pw_uid == 0:
        raise ServiceError(f"user {SYSTEM_USER} has uid 0; PostgreSQL needs an unprivileged one")
    return Owner(entry.pw_uid, entry.pw_gid)


def _create_system_user() -> pwd.struct_passwd:
    if shutil.which("useradd") is None:
        raise ServiceError(
            f"useradd is not installed; create the system user {SYSTEM_USER} for PostgreSQL, "
            "or run the stack as a user other than root"
        )
    result = subprocess.run(
        ["useradd", "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
         "--shell", "/usr/sbin/nologin", "--comment", "telemetry-pipeline PostgreSQL", SYSTEM_USER],
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    if result.returncode not in (0, 9):  # 9: another `up` created it meanwhile
        raise ServiceError(
            f"cannot create the system user {SYSTEM_USER} for PostgreSQL "
            f"({result.stderr.strip()}); create it by hand or run the stack as a non-root user"
        )
    return pwd.getpwnam(SYSTEM_USER)


def as_owner(who: Owner | None, command: list[str]) -> list[str]:
    """`command` run as `who` (setpriv execs it: the pid stays the server's)."""
    if who is None:
        return command
    return ["setpriv", f"--reuid={who.uid}", f"--regid={who.gid}", "--clear-groups", "--", *command]


# Configuration -------------------------------------------------------------------------


def postgresql_conf(home: Home, port: int = PORT) -> str:
    """The whole postgresql.conf: loopback TCP with TLS only, no Unix socket, small memory.

    Connections: every Iceberg operator of a job opens a catalog of its own (a JDBC
    pool), about 23 for a running job's two tables, and a cancelled job's are closed
    only when its TaskManager's garbage collector finds them: the cluster tests peak
    at 60, where the old limit refused a job ("remaining connection slots are
    reserved for non-replication superuser connections").
    """
    return f"""# Written by `telemetry up` at every start (telemetry/ops/stack/postgres.py).
listen_addresses = '127.0.0.1'
port = {port}
unix_socket_directories = ''
max_connections = {MAX_CONNECTIONS}
shared_buffers = 32MB
dynamic_shared_memory_type = posix
ssl = on
ssl_min_protocol_version = 'TLSv1.2'
ssl_cert_file = '{home.tls / "server.pem"}'
ssl_key_file = '{home.tls / "server.key"}'
ssl_ca_file = '{home.tls / "ca.pem"}'
hba_file = '{home.data / "pg_hba.conf"}'
ident_file = '{home.data / "pg_ident.conf"}'
password_encryption = 'scram-sha-256'
jit = off
timezone = 'UTC'
log_timezone = 'UTC'
lc_messages = 'C'
datestyle = 'iso, mdy'
log_destination = 'stderr'
logging_collector = off
log_connections = on
log_line_prefix = '%m [%p] %q%u@%d '
"""


def pg_hba() -> str:
    """Only TLS from loopback, by client certificate (its CN must be the role)."""
    return f"""# Written by `telemetry up` (telemetry/ops/stack/postgres.py). Nothing else matches:
# plaintext and connections without a certificate of the stack's CA are refused.
# TYPE   DATABASE     USER          ADDRESS        METHOD
hostssl  all          {SUPERUSER:<12}  127.0.0.1/32   cert
hostssl  {DATABASE:<11}  {ROLE:<12}  127.0.0.1/32   cert
"""


def _env(home: Home) -> dict[str, str]:
    env = base_env() | {"LANG": "C", "LC_ALL": "C"}
    env.pop("HOME", None)  # root's; the server's user cannot read it
    library_path = home.library_path()
    if library_path:
        env["LD_LIBRARY_PATH"] = library_path
    return env


# Preparation -------------------------------------------------------------------------


def _put(path: Path, data: bytes, who: Owner | None, mode: int = 0o600) -> None:
    """Write `path` for the server's user only."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.chmod(path, mode)
    if who is not None:
        os.chown(path, who.uid, who.gid)


def _own_dir(path: Path, who: Owner | None) -> None:
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o700)
    if who is not None:
        os.chown(path, who.uid, who.gid)


def _running_from(home: Home) -> int | None:
    """The pid of a server running from `home` (its postmaster.pid), if any."""
    try:
        pid = int((home.data / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):  # none, or unreadable: no server
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return pid


def _reap_killed_server(home: Home) -> None:
    """A server this process started and that was killed stays a zombie until reaped,
    and PostgreSQL takes the zombie's pid in postmaster.pid for a running postmaster
    ("lock file postmaster.pid already exists"): reap it before starting again."""
    try:
        pid = int((home.data / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):  # none, or unreadable: nothing to reap
        return
    exited(pid)


def _claim_system_home(home: Home, layout: Layout) -> None:
    """Root: the home in SYSTEM_ROOT of this data folder, linked as `<data>/postgres`."""
    link = layout.data / "postgres"
    if link.is_symlink() and Path(os.readlink(link)) == home.root and home.root.is_dir():
        return
    if link.exists() and not link.is_symlink():
        raise ServiceError(
            f"{link} holds a PostgreSQL made by a non-root run; run the stack as that user, "
            "or `make clean PROFILE=cluster` to start over"
        )
    if home.root.exists():  # left by a data folder of the same path that was deleted
        pid = _running_from(home)
        if pid is not None:
            raise ServiceError(
                f"a PostgreSQL of a deleted data folder still runs from {home.root} (pid {pid}); "
                f"stop it (kill -INT {pid}) and run `telemetry up` again"
            )
        shutil.rmtree(home.root)
    SYSTEM_ROOT.mkdir(mode=0o755, parents=True, exist_ok=True)
    SYSTEM_ROOT.chmod(0o755)
    home.root.mkdir(mode=0o755)
    home.root.chmod(0o755)
    link.unlink(missing_ok=True)
    link.symlink_to(home.root)


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:  # another filesystem
        shutil.copy2(source, target)


def _stage_server(source: Path, home: Home) -> None:
    """Root: the unpacked packages where the server's user can read them (hard links)."""
    stamp = home.server / ".staged"
    binary = source / home.bin("postgres").relative_to(home.server)
    info = binary.stat()
    want = f"{info.st_dev}:{info.st_ino}:{info.st_mtime_ns}\n"
    if stamp.is_file() and stamp.read_text() == want:
        return
    shutil.rmtree(home.server, ignore_errors=True)
    shutil.copytree(
        source,
        home.server,
        symlinks=True,
        copy_function=_link_or_copy,
        ignore=shutil.ignore_patterns("*.deb", "*.log"),
    )
    home.server.chmod(0o755)
    stamp.write_text(want)


def _initdb(home: Home, who: Owner | None, layout: Layout) -> None:
    command = as_owner(
        who,
        [str(home.bin("initdb")), "-D", str(home.data), "-U", SUPERUSER, "--auth=reject",
         "--encoding=UTF8", "--locale=C", "--no-instructions"],
    )  # fmt: skip
    result = subprocess.run(
        command, env=_env(home), cwd=home.root, capture_output=True, text=True, check=False
    )
    log = layout.log_file("postgres")
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "a", encoding="utf-8") as out:
        out.write(result.stdout + result.stderr)
    if result.returncode != 0:
        for child in home.data.iterdir():  # empty again, so the next start retries
            shutil.rmtree(child) if child.is_dir() else child.unlink()
        last = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
        raise ServiceError(f"initdb of PostgreSQL in {home.data} failed: {last[0]} (log: {log})")


def _prepare(tls_of: Callable[[Settings], TlsFiles]) -> Callable[[Settings, Layout], None]:
    def prepare(settings: Settings, layout: Layout) -> None:
        tls = tls_of(settings)
        client_cert(tls, ROLE)  # the catalog's clients (the settings' defaults name its files)
        client_cert(tls, SUPERUSER)  # the stack: health checks, role and database
        who = owner()
        home = home_of(layout)
        if who is not None:
            _claim_system_home(home, layout)
            if not (layout.postgres_dir / ".complete").is_file():
                raise ServiceError(
                    f"PostgreSQL is not unpacked in {layout.postgres_dir}; run `make setup`"
                )
            _stage_server(layout.postgres_dir, home)
        else:
            private_dir(home.root)
        if not home.bin("postgres").is_file():
            raise ServiceError(f"no PostgreSQL server at {home.bin('postgres')}; run `make setup`")
        _own_dir(home.data, who)
        _reap_killed_server(home)
        _own_dir(home.tls, who)
        for source, name in ((tls.cert, "server.pem"), (tls.key, "server.key"), (tls.ca, "ca.pem")):
            _put(home.tls / name, source.read_bytes(), who)
        if not (home.data / "PG_VERSION").is_file():
            _initdb(home, who, layout)
        _put(home.data / "postgresql.conf", postgresql_conf(home).encode(), who)
        _put(home.data / "pg_hba.conf", pg_hba().encode(), who)
        _put(home.data / "pg_ident.conf", b"", who)

    return prepare


def _launch(settings: Settings, layout: Layout) -> Launch:
    home = home_of(layout)
    command = as_owner(owner(), [str(home.bin("postgres")), "-D", str(home.data)])
    return Launch(command, _env(home), home.root)


def _discard(layout: Layout) -> None:
    """`make clean` as root: the home in SYSTEM_ROOT goes with the data folder."""
    home = home_of(layout)
    if home.root.is_relative_to(SYSTEM_ROOT) and home.root.is_dir():
        shutil.rmtree(home.root)


# Clients -------------------------------------------------------------------------------


def connect(
    settings: Settings, role: str = SUPERUSER, dbname: str = "postgres", **params: Any
) -> connection:
    """A psycopg2 connection over TLS with the stack's client certificate of `role`."""

    tls = TlsFiles(settings.stack.data_dir / "tls")
    client = ClientCert(tls.folder, role)
    options: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": PORT,
        "dbname": dbname,
        "user": role,
        "sslmode": "verify-full",
        "sslrootcert": str(tls.ca),
        "sslcert": str(client.cert),
        "sslkey": str(client.key),
        "connect_timeout": 3,
        "application_name": "telemetry-stack",
    }
    return psycopg2.connect(**(options | params))


@contextlib.contextmanager
def _admin(settings: Settings) -> Iterator[connection]:
    db = connect(settings)
    try:
        db.autocommit = True
        yield db
    finally:
        db.close()


def _healthy(settings: Settings) -> bool:

    try:
        with _admin(settings) as db, db.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except (psycopg2.Error, OSError):
        return False


def _ensure_catalog_database(settings: Settings, layout: Layout, say: Say) -> None:
    """Role `telemetry` (no password: it logs in by certificate) and database `iceberg`."""

    with _admin(settings) as db, db.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (ROLE,))
        if cursor.fetchone() is None:
            cursor.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(ROLE)))
            say(f"  created the catalog's database role {ROLE}")
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,))
        if cursor.fetchone() is None:
            cursor.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(DATABASE), sql.Identifier(ROLE)
                )
            )
            say(f"  created the catalog's database {DATABASE}")


def postgres_service(tls_of: Callable[[Settings], TlsFiles]) -> Service:
    """The service; `tls_of` gives the profile's TLS files (made at first start)."""
    return Service(
        name="postgres",
        title="PostgreSQL (Iceberg catalog, TLS + certs)",
        ports=lambda _s: {"PostgreSQL": PORT},
        launch=_launch,
        healthy=_healthy,
        markers=lambda layout: ("postgres", "-D", str(home_of(layout).data)),
        endpoint=lambda _s: f"postgresql://127.0.0.1:{PORT}/{DATABASE} (TLS, client certificate)",
        start_timeout=60,
        prepare=_prepare(tls_of),
        after_start=_ensure_catalog_database,
        stop_signal=signal.SIGINT,
        discard=_discard,
    )
