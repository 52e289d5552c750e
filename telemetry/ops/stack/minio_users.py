"""The cluster profile's clients get a MinIO user of their own, through MinIO's `mc`.

The user may use the pipeline's buckets only (policy `telemetry-buckets`), so no
client holds MinIO's root credentials. `mc` gets every credential outside its
arguments, which other users of the machine can read:
- the root credentials in `MC_HOST_<alias>` (its environment);
- the client's secret on its standard input (`mc admin user add ALIAS USER` reads it
  there when it is not given);
- the CA in a private config folder (`MC_CONFIG_DIR/certs/CAs/`), which also keeps
  `mc` out of `~/.mc`.

Running it again changes nothing: the policy is replaced, the user's secret set
again, and `mc` takes an already attached policy as done.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from telemetry.core.errors import InvalidInputError, ServiceError

__all__ = ["POLICY", "MinioUser", "bucket_policy", "give_clients_a_user", "mc_commands"]

POLICY = "telemetry-buckets"
ALIAS = "telemetry"
MC_TIMEOUT_S = 60


@dataclass(frozen=True)
class MinioUser:
    """What `mc` needs: where MinIO is, who is root, and the user to give the buckets."""

    endpoint: str  # host:port of the S3 API (TLS)
    ca_file: Path
    root_user: str
    root_password: str
    access_key: str
    secret_key: str
    buckets: Sequence[str]


def bucket_policy(buckets: Sequence[str]) -> str:
    """An IAM policy allowing every S3 action on `buckets` and their objects only."""
    resources = [r for b in buckets for r in (f"arn:aws:s3:::{b}", f"arn:aws:s3:::{b}/*")]
    statement = {"Effect": "Allow", "Action": ["s3:*"], "Resource": resources}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def mc_commands(mc: Path, user: MinioUser, policy_file: Path) -> list[tuple[list[str], str]]:
    """The `mc` calls, each with what it reads on stdin; no credential is an argument."""
    admin = [str(mc), "--quiet", "--no-color", "admin"]
    return [
        ([*admin, "policy", "create", ALIAS, POLICY, str(policy_file)], ""),
        ([*admin, "user", "add", ALIAS, user.access_key], user.secret_key + "\n"),
        ([*admin, "policy", "attach", ALIAS, POLICY, "--user", user.access_key], ""),
    ]


def mc_environment(base: Mapping[str, str], user: MinioUser, config_dir: Path) -> dict[str, str]:
    """`base` plus the alias (root credentials) and `mc`'s private config folder."""
    # mc splits MC_HOST_* at ':' and never percent-decodes it, so a ':' in the root
    # credentials would be read as a session token's separator.
    if ":" in user.root_user or ":" in user.root_password or "@" in user.root_user:
        raise InvalidInputError(
            "MinIO's root user or password holds ':' (or the user '@'), which mc cannot take "
            "in MC_HOST_*; pick credentials without them in the stack's secrets.env"
        )
    url = f"https://{user.root_user}:{user.root_password}@{user.endpoint}"
    return {**base, f"MC_HOST_{ALIAS}": url, "MC_CONFIG_DIR": str(config_dir)}


def give_clients_a_user(mc: Path, user: MinioUser, base_env: Mapping[str, str]) -> None:
    """Create or update the clients' user and its policy; ServiceError if `mc` refuses."""
    with tempfile.TemporaryDirectory(prefix="telemetry-mc-") as work:  # mode 0700
        config_dir = Path(work) / "mc"
        (config_dir / "certs" / "CAs").mkdir(parents=True)
        (config_dir / "certs" / "CAs" / "ca.crt").write_bytes(user.ca_file.read_bytes())
        policy_file = Path(work) / "policy.json"
        policy_file.write_text(bucket_policy(user.buckets), encoding="utf-8")
        env = mc_environment(base_env, user, config_dir)
        for command, stdin in mc_commands(mc, user, policy_file):
            done = subprocess.run(
                command,
                input=stdin,
                env=env,
                capture_output=True,
                text=True,
                timeout=MC_TIMEOUT_S,
                check=False,
            )
            if done.returncode != 0:
                said = (done.stderr.strip() or done.stdout.strip()).splitlines()
                raise ServiceError(
                    f"cannot give the clients a MinIO user: mc admin {' '.join(command[4:6])} "
                    f"failed: {said[-1] if said else f'exit {done.returncode}'}"
                )
