"""Assemble a Flink home from the apache-flink wheel plus the fetched jars.

The wheel carries a full distribution (bin/, lib/, opt/, plugins/). We never
modify the installed package: the home is built in the data directory from
links to the wheel's jars and to the cached connector jars, and a rendered
config.yaml (mode 0600). It holds no secret: S3 credentials reach Flink's
processes through their environment (S3A's credential chain).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from pathlib import Path
from string import Template

from telemetry.core.config import Settings
from telemetry.core.errors import ServiceError
from telemetry.ops.host.layout import Layout, infra_dir
from telemetry.ops.stack import profiles


def pyflink_dir() -> Path:
    """PyFlink's folder (its jars, its scripts), found without importing it."""
    spec = importlib.util.find_spec("pyflink")
    if spec is None or not spec.submodule_search_locations:
        raise ServiceError("apache-flink is not installed in this environment; run `make setup`")
    return Path(next(iter(spec.submodule_search_locations)))


def render_config(settings: Settings, layout: Layout) -> str:
    template = Template((infra_dir() / "flink" / "config.yaml").read_text(encoding="utf-8"))
    return template.substitute(
        **profiles.flink_config_values(settings, layout),
        FLINK_LOG_DIR=str(layout.logs),
        FLINK_PORT=str(settings.flink.port),
        TELEMETRY_CHECKPOINT_BUCKET=settings.job.checkpoint_bucket,
        S3_ENDPOINT_URL=settings.s3.endpoint_url,
        S3_PATH_STYLE=str(settings.s3.addressing_style == "path").lower(),
        S3_SSL=str(settings.s3.endpoint_url.startswith("https")).lower(),
        AWS_REGION=settings.s3.region,
        PYTHON=sys.executable,
    )


# PythonEnvUtils logs, at INFO, the whole environment of each Python process it
# starts (`flink run -py`, the gateway): with the clients' secrets in it.
_QUIET_ENVIRONMENT_DUMP = """
# Added by telemetry: PythonEnvUtils logs every environment variable (secrets too) at INFO.
logger.telemetry_python_env.name = org.apache.flink.client.python.PythonEnvUtils
logger.telemetry_python_env.level = WARN
"""


def _quiet_environment_dumps(conf: Path) -> None:
    for properties in conf.glob("log4j*.properties"):
        with properties.open("a", encoding="utf-8") as out:
            out.write(_QUIET_ENVIRONMENT_DUMP)


def _link_all(source: Path, target: Path) -> None:
    for item in sorted(source.iterdir()):
        link = target / item.name
        if not link.exists():
            link.symlink_to(item)


def assemble(settings: Settings, layout: Layout) -> Path:
    """(Re)build the Flink home and return it. Cheap: links and two small copies."""
    wheel = pyflink_dir()
    home = layout.flink_home
    if home.exists():
        shutil.rmtree(home)
    (home / "lib").mkdir(parents=True)
    (home / "plugins" / "s3-fs-hadoop").mkdir(parents=True)
    (home / "opt").mkdir()
    shutil.copytree(wheel / "bin", home / "bin")
    shutil.copytree(wheel / "conf", home / "conf")
    _quiet_environment_dumps(home / "conf")
    _link_all(wheel / "lib", home / "lib")
    _link_all(layout.flink_jars / "lib", home / "lib")
    _link_all(wheel / "opt", home / "opt")
    # PyFlink jobs need flink-python on the cluster's classpath.
    for jar in (wheel / "opt").glob("flink-python-*.jar"):
        (home / "lib" / jar.name).symlink_to(jar)
    for plugin in (wheel / "plugins").iterdir():
        if plugin.is_dir():
            (home / "plugins" / plugin.name).symlink_to(plugin)
    _link_all(layout.flink_jars / "s3-fs-hadoop", home / "plugins" / "s3-fs-hadoop")
    config = home / "conf" / "config.yaml"
    config.write_text(render_config(settings, layout), encoding="utf-8")
    os.chmod(config, 0o600)
    for script in (home / "bin").iterdir():
        script.chmod(0o755)
    return home
