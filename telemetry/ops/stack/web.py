"""What the live page and its browser test need from outside, fetched once into the cache.

- uPlot, the page's chart: the npm package `uplot` at versions.UPLOT, by
  `npm install` (`make setup`; about a second), served by `telemetry live`
  from the cache. No CDN at run time.
- Chromium and chromedriver for the browser test: Debian's packages with the
  libraries a minimal Debian 12 lacks, unpacked (not installed; ~380 MB), on
  the test's first use or `telemetry setup --browser` (CI). Not pinned to a
  version: Debian's security archive keeps only the newest build, and a
  cached one is reused as it is.

Each fetch goes to a `.partial` folder renamed when complete, so an
interrupted one is never taken for a whole one.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import platform
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from telemetry.core.errors import ServiceError
from telemetry.core.progress import Say
from telemetry.ops.host import versions
from telemetry.ops.host.layout import Layout
from telemetry.ops.stack.debian import unpack_debian_packages
from telemetry.ops.stack.steps import run_step

__all__ = [
    "CHROMIUM_PACKAGES",
    "HEADLESS_ARGS",
    "UPLOT_FILES",
    "Chromium",
    "ensure_chromium",
    "fetch_uplot",
]


# What the page loads from uPlot's dist/ folder.
UPLOT_FILES = ("uPlot.iife.min.js", "uPlot.min.css")

# chromium and its driver, and the libraries they link that a minimal Debian 12 lacks
# (ldd, less the base system's); the browser finds them through LD_LIBRARY_PATH.
CHROMIUM_PACKAGES = (
    "chromium",
    "chromium-common",  # its ICU data and resource packs: without them it exits at start
    "chromium-driver",
    "libopenh264-7",
    "libdouble-conversion3",
    "libharfbuzz-subset0",
    "libpulse0",
    "libflac12",
    "libopus0",
    "libxnvctrl0",
    "libminizip1",
    "libopenjp2-7",
    "libsndfile1",
    "libasyncns0",
    "libogg0",
    "libvorbis0a",
    "libvorbisenc2",
    "libmpg123-0",
    "libmp3lame0",
)
_COMPLETE = ".complete"
# How the browser runs here: headless, and without the sandbox (root in a container has
# no user namespaces for it).
HEADLESS_ARGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage")


def fetch_uplot(layout: Layout, say: Say) -> Path:
    """uPlot's dist/ folder in the cache, fetched with npm if missing."""
    if all((layout.uplot_dist / name).is_file() for name in UPLOT_FILES):
        return layout.uplot_dist
    final = layout.uplot_dir
    staging = final.with_name(final.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    log = final.with_name(final.name + ".log")
    package = f"uplot@{versions.UPLOT}"
    if shutil.which("npm") is None:
        raise ServiceError(
            f"npm is not installed; it fetches {package} for the live page: install Node.js "
            "with npm (Debian: `apt-get install npm`) and rerun `make setup`"
        )
    try:
        run_step(
            f"fetch {package} (the live page's chart) from the npm registry",
            [
                "npm",
                "install",
                "--prefix",
                str(staging),
                "--no-save",
                "--no-audit",
                "--no-fund",
                "--ignore-scripts",
                "--loglevel=error",
                package,
            ],
            log,
            say,
            fix="check access to the npm registry",
        )
    except ServiceError:
        raise ServiceError(
            f"npm could not fetch {package} (log: {log}); check access to the npm registry "
            "(`npm config get registry`, a proxy) and rerun `make setup`"
        ) from None
    missing = [n for n in UPLOT_FILES if not (staging / "node_modules/uplot/dist" / n).is_file()]
    if missing:
        raise ServiceError(
            f"{package} from npm has no dist/{', dist/'.join(missing)}; pin another version "
            "in telemetry/ops/host/versions.py (UPLOT) and rerun `make setup`"
        )
    shutil.rmtree(final, ignore_errors=True)
    staging.rename(final)
    return layout.uplot_dist


@dataclass(frozen=True)
class Chromium:
    """Debian's chromium and chromedriver, unpacked under `root`."""

    root: Path

    @property
    def binary(self) -> Path:
        return self.root / "usr" / "lib" / "chromium" / "chromium"

    @property
    def driver(self) -> Path:
        return self.root / "usr" / "lib" / "chromium" / "chromedriver"

    @property
    def library_path(self) -> str:
        libs = self.root / "usr" / "lib" / f"{platform.machine()}-linux-gnu"
        return f"{libs}:{libs / 'pulseaudio'}"

    @property
    def version(self) -> str:
        """The browser's version if it was unpacked whole from today's CHROMIUM_PACKAGES."""
        marker = self.root / _COMPLETE
        lines = marker.read_text().splitlines() if marker.is_file() else []
        return lines[0] if lines and tuple(lines[1:]) == CHROMIUM_PACKAGES else ""

    def env(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """An environment the browser and its driver run in (the unpacked libraries first)."""
        env = dict(os.environ if base is None else base)
        before = env.get("LD_LIBRARY_PATH")
        env["LD_LIBRARY_PATH"] = f"{self.library_path}:{before}" if before else self.library_path
        return env


def ensure_chromium(layout: Layout, say: Say = print) -> Chromium:
    """Chromium and chromedriver in the cache, fetched from Debian's packages if missing."""
    chromium = Chromium(layout.chromium_dir)
    if chromium.version:
        return chromium
    with _locked(layout.chromium_dir.with_name("chromium.lock")):
        if chromium.version:  # another process fetched it meanwhile
            return chromium
        staging = Chromium(layout.chromium_dir.with_name("chromium.partial"))
        shutil.rmtree(staging.root, ignore_errors=True)
        unpack_debian_packages(
            "Chromium and chromedriver (the live page's browser test)",
            CHROMIUM_PACKAGES,
            staging.root,
            layout.chromium_dir.with_name("chromium.log"),
            say,
            fix="run `apt-get update` once and try again",
        )
        for deb in staging.root.glob("*.deb"):
            deb.unlink()
        version = _check_runs(staging)
        (staging.root / _COMPLETE).write_text("\n".join((version, *CHROMIUM_PACKAGES)) + "\n")
        shutil.rmtree(chromium.root, ignore_errors=True)
        staging.root.rename(chromium.root)
    say(f"  {version} ready in {chromium.root}")
    return chromium


def _check_runs(chromium: Chromium) -> str:
    """The browser's version; a ServiceError naming the libraries it still lacks."""
    env = chromium.env()
    for program in (chromium.binary, chromium.driver):
        linked = subprocess.run(
            ["ldd", str(program)], env=env, capture_output=True, text=True, check=False
        ).stdout
        missing = sorted({ln.split()[0] for ln in linked.splitlines() if "not found" in ln})
        if missing:
            raise ServiceError(
                f"{program.name} from Debian's packages lacks {', '.join(missing)} on this "
                "machine; add the Debian packages that ship them to CHROMIUM_PACKAGES in "
                "telemetry/ops/stack/web.py"
            )
    try:
        version = subprocess.run(
            [str(chromium.binary), "--version"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout.strip()
        page = subprocess.run(  # a page for real: resources missing show only here
            [str(chromium.binary), *HEADLESS_ARGS, "--dump-dom", "about:blank"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise ServiceError(f"the unpacked {chromium.binary} does not start: {exc}") from exc
    if "<html>" not in page.stdout:
        last = (page.stderr.strip().splitlines() or ["no output"])[-1]
        raise ServiceError(
            f"the unpacked {chromium.binary} cannot show a page (exit {page.returncode}: "
            f"{last}); a package is missing from CHROMIUM_PACKAGES in telemetry/ops/stack/web.py"
        )
    return version


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Held while fetching: two test sessions fetch once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
