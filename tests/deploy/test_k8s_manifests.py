"""The Kubernetes manifests validate for real, without a cluster, and agree with the code.

The validator (infra/k8s/validate, Go) decodes every document strictly into
the k8s.io/api types, runs the API server's validation of the built-in kinds,
and checks Flink resources against the operator's CRD schema. The tests below
prove it bites on broken copies, then check what no schema can: that the
manifests agree with the job's code and keep secrets out of Flink's config.
"""

from __future__ import annotations

import copy
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from telemetry.core.config import ENV_VARS, load_settings
from telemetry.core.contract import JAR_NAME, JOB_NAME, checkpoint_prefix, savepoint_prefix
from telemetry.core.job_params import JobParams
from telemetry.ops.host import versions
from telemetry.ops.stack.manifest_tools import ManifestTools

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "infra" / "k8s"
MANIFESTS = sorted(K8S.glob("*.yaml"))

Doc = dict[str, Any]

# Settings the issue names for the secret store; only these go in the Secret.
SECRET_SETTINGS = {
    "KAFKA_SASL_PASSWORD",
    "SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    # The catalog database's URLs: secret settings, as they may hold credentials.
    "PYICEBERG_CATALOG__TELEMETRY__URI",
    "TELEMETRY_CATALOG_JDBC_URL",
}


def _docs(path: Path) -> list[Doc]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def _all_docs() -> list[Doc]:
    return [d for path in MANIFESTS for d in _docs(path)]


def _one(kind: str) -> Doc:
    found = [d for d in _all_docs() if d["kind"] == kind]
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


def _validate(tools: ManifestTools, *files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(tools.validate_manifests), "-crds", str(tools.crds), *map(str, files)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _broken(tmp_path: Path, name: str, edit: Callable[[list[Doc]], None]) -> Path:
    """A copy of infra/k8s/NAME with `edit` applied to its documents."""
    docs = copy.deepcopy(_docs(K8S / name))
    edit(docs)
    out = tmp_path / name
    out.write_text(yaml.safe_dump_all(docs, sort_keys=False))
    return out


def _flink(docs: list[Doc]) -> Doc:
    return next(d for d in docs if d["kind"] == "FlinkDeployment")


def _kind(docs: list[Doc], kind: str) -> Doc:
    return next(d for d in docs if d["kind"] == kind)


# The real check -------------------------------------------------------------


def test_every_manifest_decodes_strictly_and_validates(manifest_tools: ManifestTools) -> None:
    result = _validate(manifest_tools, *MANIFESTS)
    assert result.returncode == 0, result.stdout + result.stderr
    ok_lines = [line for line in result.stdout.splitlines() if line.startswith("ok ")]
    assert len(ok_lines) == len(_all_docs())
    assert any("FlinkDeployment/telemetry" in line for line in ok_lines)


def test_an_unknown_field_in_a_flink_deployment_is_rejected(
    manifest_tools: ManifestTools, tmp_path: Path
) -> None:
    bad = _broken(
        tmp_path,
        "flink-deployment.yaml",
        lambda docs: _flink(docs)["spec"]["jobManager"].update(replicaz=2),
    )
    result = _validate(manifest_tools, bad)
    assert result.returncode == 1
    assert "spec.jobManager.replicaz: unknown field" in result.stdout


def test_an_unknown_field_in_a_pod_template_is_rejected(
    manifest_tools: ManifestTools, tmp_path: Path
) -> None:
    def edit(docs: list[Doc]) -> None:
        _flink(docs)["spec"]["podTemplate"]["spec"]["containers"][0]["envFromm"] = []

    result = _validate(manifest_tools, _broken(tmp_path, "flink-deployment.yaml", edit))
    assert result.returncode == 1
    assert "spec.podTemplate.spec.containers[0].envFromm: unknown field" in result.stdout
    assert 'as a core/v1 Pod: unknown field "spec.containers[0].envFromm"' in result.stdout


def test_a_wrong_type_in_a_flink_deployment_is_rejected(
    manifest_tools: ManifestTools, tmp_path: Path
) -> None:
    bad = _broken(
        tmp_path,
        "flink-deployment.yaml",
        lambda docs: _flink(docs)["spec"]["job"].update(parallelism="four"),
    )
    result = _validate(manifest_tools, bad)
    assert result.returncode == 1
    assert "spec.job.parallelism" in result.stdout
    assert "must be of type integer" in result.stdout


def test_a_flink_version_the_operator_does_not_know_is_rejected(
    manifest_tools: ManifestTools, tmp_path: Path
) -> None:
    bad = _broken(
        tmp_path,
        "flink-deployment.yaml",
        lambda docs: _flink(docs)["spec"].update(flinkVersion="v2_9"),
    )
    result = _validate(manifest_tools, bad)
    assert result.returncode == 1
    assert 'spec.flinkVersion: Unsupported value: "v2_9"' in result.stdout


def test_a_missing_required_field_is_rejected(
    manifest_tools: ManifestTools, tmp_path: Path
) -> None:
    no_role = _broken(tmp_path, "rbac.yaml", lambda docs: _kind(docs, "RoleBinding").pop("roleRef"))
    result = _validate(manifest_tools, no_role)
    assert result.returncode == 1
    assert "RoleBinding/telemetry-flink: roleRef.name: Required value" in result.stdout

    no_name = _broken(
        tmp_path, "flink-deployment.yaml", lambda docs: _flink(docs)["metadata"].pop("name")
    )
    result = _validate(manifest_tools, no_name)
    assert result.returncode == 1
    assert "metadata.name: Required value" in result.stdout


def test_an_unknown_field_in_a_built_in_kind_is_rejected(
    manifest_tools: ManifestTools, tmp_path: Path
) -> None:
    def edit(docs: list[Doc]) -> None:
        secret = _kind(docs, "Secret")
        secret["stringdata"] = secret.pop("stringData")

    result = _validate(manifest_tools, _broken(tmp_path, "secret.example.yaml", edit))
    assert result.returncode == 1
    assert 'strict decoding error: unknown field "stringdata"' in result.stdout


def test_a_wrong_type_in_a_built_in_kind_is_rejected(
    manifest_tools: ManifestTools, tmp_path: Path
) -> None:
    bad = _broken(
        tmp_path, "rbac.yaml", lambda docs: _kind(docs, "Role")["rules"][0].update(verbs="get")
    )
    result = _validate(manifest_tools, bad)
    assert result.returncode == 1
    assert "Role/telemetry-flink" in result.stdout
    assert "cannot unmarshal string" in result.stdout


def test_an_invalid_value_in_a_built_in_kind_is_rejected(
    manifest_tools: ManifestTools, tmp_path: Path
) -> None:
    bad = _broken(
        tmp_path,
        "config.yaml",
        lambda docs: _kind(docs, "ConfigMap")["data"].update({"NOT A KEY": "x"}),
    )
    result = _validate(manifest_tools, bad)
    assert result.returncode == 1
    assert "data[NOT A KEY]: Invalid value" in result.stdout


def test_duplicate_keys_are_rejected(manifest_tools: ManifestTools, tmp_path: Path) -> None:
    text = (K8S / "config.yaml").read_text()
    bad = tmp_path / "config.yaml"
    bad.write_text(
        text.replace("  TELEMETRY_TOPIC:", "  TELEMETRY_BUCKET: again\n  TELEMETRY_TOPIC:")
    )
    result = _validate(manifest_tools, bad)
    assert result.returncode == 1
    assert "TELEMETRY_BUCKET" in result.stdout
    assert "already set" in result.stdout or "duplicate" in result.stdout


def test_a_kind_with_no_schema_is_rejected_not_skipped(
    manifest_tools: ManifestTools, tmp_path: Path
) -> None:
    bad = tmp_path / "other.yaml"
    bad.write_text(
        "apiVersion: flink.apache.org/v1beta1\nkind: FlinkStateSnapshot\nmetadata: {name: s}\n"
        "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n"
    )
    result = _validate(manifest_tools, bad)
    assert result.returncode == 1
    assert "no schema for flink.apache.org/v1beta1, Kind=FlinkStateSnapshot" in result.stdout
    assert "no API server validation wired for apps/v1, Kind=Deployment" in result.stdout


# What no schema checks: agreement with the code --------------------------------


def _config_map() -> dict[str, str]:
    return _one("ConfigMap")["data"]


def _flink_conf() -> dict[str, str]:
    return _one("FlinkDeployment")["spec"]["flinkConfiguration"]


def test_the_job_runs_through_the_python_driver_with_the_job_scripts_arguments() -> None:
    job = _one("FlinkDeployment")["spec"]["job"]
    assert job["entryClass"] == "org.apache.flink.client.python.PythonDriver"
    assert job["jarURI"] == f"local:///opt/flink/opt/flink-python-{versions.FLINK}.jar"
    args: list[str] = job["args"]
    assert args[:2] == ["-py", "/opt/flink/usrlib/telemetry_job.py"]
    assert args[2] == "--jar" and Path(args[3]).name == JAR_NAME
    params = JobParams.parse(args[4:], load_settings({}))
    assert params.name == JOB_NAME


def test_the_job_has_kubernetes_ha_and_cannot_be_replaced_through_rest() -> None:
    spec = _one("FlinkDeployment")["spec"]
    conf = _flink_conf()
    assert conf["high-availability.type"] == "kubernetes"
    assert conf["high-availability.storageDir"].startswith("s3://")
    assert spec["jobManager"]["replicas"] >= 2  # a standby JobManager
    assert spec["job"]["upgradeMode"] == "last-state"  # needs HA
    assert conf["web.submit.enable"] == "false"
    assert conf["security.ssl.rest.enabled"] == "true"


def test_the_control_plane_refuses_clients_without_a_certificate() -> None:
    """REST wants a client certificate; RPC, blobs and data Flink's own internal one."""
    conf = _flink_conf()
    assert conf["security.ssl.rest.authentication-enabled"] == "true"
    assert conf["security.ssl.internal.enabled"] == "true"
    for switch in ("taskmanager.data.ssl.enabled", "blob.service.ssl.enabled", "pekko.ssl.enabled"):
        assert conf.get(switch, "true") == "true", switch
    assert "TLS_RSA_" not in conf["security.ssl.algorithms"]
    internal = {conf[f"security.ssl.internal.{k}"] for k in ("keystore", "truststore")}
    rest = {conf[f"security.ssl.rest.{k}"] for k in ("keystore", "truststore")}
    assert not internal & rest, "internal connections trust their own certificate, not REST's CA"


def test_the_internal_tls_stores_are_built_in_every_flink_pod_where_flink_reads_them() -> None:
    spec = _one("FlinkDeployment")["spec"]
    common = spec["podTemplate"]["spec"]  # both the JobManager's and the TaskManagers' pods
    assert "podTemplate" not in spec["taskManager"] or not spec["taskManager"]["podTemplate"]
    mounts = {m["name"]: m["mountPath"] for m in common["containers"][0]["volumeMounts"]}
    init = next(c for c in common["initContainers"] if c["name"] == "internal-tls-stores")
    script = init["command"][-1]
    conf = _flink_conf()
    for key in ("security.ssl.internal.keystore", "security.ssl.internal.truststore"):
        assert Path(conf[key]).parent == Path(mounts["internal-tls"])
        assert conf[key] in script
    for key in ("keystore-password", "key-password", "truststore-password"):
        assert conf[f"security.ssl.internal.{key}"] in script
    truststore_line = next(line for line in script.splitlines() if "keytool" in line)
    assert "tls.key" not in truststore_line, "the trust store holds the certificate only"
    secrets = {v["name"]: v.get("secret", {}).get("secretName") for v in common["volumes"]}
    assert secrets["internal-tls-pem"] == "telemetry-internal-tls"


def test_no_credential_is_in_the_flink_configuration() -> None:
    conf = _flink_conf()
    forbidden = {"s3.access-key", "s3.secret-key", "fs.s3a.access.key", "fs.s3a.secret.key"}
    assert not forbidden & set(conf)
    assert not any("sasl" in key or "jaas" in key for key in conf)
    secret_values = set(_one("Secret")["stringData"].values())
    assert not secret_values & {str(v) for v in conf.values()}


def test_the_secret_holds_only_secrets_and_the_config_map_none() -> None:
    known = {var.name for var in ENV_VARS} | SECRET_SETTINGS
    secret_keys = set(_one("Secret")["stringData"])
    config_keys = set(_config_map())
    assert secret_keys <= SECRET_SETTINGS
    assert config_keys <= known - SECRET_SETTINGS, config_keys - known


def test_both_flink_pods_get_the_config_map_and_the_secret_as_environment() -> None:
    spec = _one("FlinkDeployment")["spec"]
    # The common template is the one both JobManager and TaskManagers use.
    main = spec["podTemplate"]["spec"]["containers"][0]
    assert main["name"] == "flink-main-container"
    sources = {next(iter(ref)): ref[next(iter(ref))]["name"] for ref in main["envFrom"]}
    assert sources == {
        "configMapRef": _one("ConfigMap")["metadata"]["name"],
        "secretRef": _one("Secret")["metadata"]["name"],
    }


def test_the_config_map_parses_with_the_settings_loader() -> None:
    # The CA files exist only in the pods (mounted from a ConfigMap); the loader checks them.
    env = {k: v for k, v in _config_map().items() if not k.endswith(("_CA_LOCATION", "CA_BUNDLE"))}
    settings = load_settings(env)
    assert settings.topics.topic == _config_map()["TELEMETRY_TOPIC"]


def test_s3_and_state_settings_of_flink_agree_with_the_config_map() -> None:
    env, conf = _config_map(), _flink_conf()
    assert conf["s3.endpoint"] == env["S3_ENDPOINT_URL"]
    assert conf["s3.endpoint.region"] == env["AWS_REGION"]
    assert conf["s3.path.style.access"] == str(env["S3_ADDRESSING_STYLE"] == "path").lower()
    bucket = env["TELEMETRY_CHECKPOINT_BUCKET"]
    assert conf["execution.checkpointing.dir"] == f"s3://{bucket}/{checkpoint_prefix(JOB_NAME)}"
    assert (
        conf["execution.checkpointing.savepoint-dir"]
        == f"s3://{bucket}/{savepoint_prefix(JOB_NAME)}"
    )
    assert conf["high-availability.storageDir"].startswith(f"s3://{bucket}/")


def test_the_job_parallelism_is_the_configured_one() -> None:
    job = _one("FlinkDeployment")["spec"]["job"]
    assert job["parallelism"] == int(_config_map()["TELEMETRY_PARALLELISM"])


def test_the_flink_pods_run_as_the_service_account_the_role_is_bound_to() -> None:
    account = _one("FlinkDeployment")["spec"]["serviceAccount"]
    assert _one("ServiceAccount")["metadata"]["name"] == account
    binding = _one("RoleBinding")
    assert binding["roleRef"]["name"] == _one("Role")["metadata"]["name"]
    assert {"kind": "ServiceAccount", "name": account}.items() <= binding["subjects"][0].items()


def test_the_rest_tls_stores_are_built_where_flink_reads_them() -> None:
    spec = _one("FlinkDeployment")["spec"]["jobManager"]["podTemplate"]["spec"]
    mounts = {m["name"]: m["mountPath"] for m in spec["containers"][0]["volumeMounts"]}
    init = spec["initContainers"][0]
    script = init["command"][-1]
    conf = _flink_conf()
    for key in ("security.ssl.rest.keystore", "security.ssl.rest.truststore"):
        assert Path(conf[key]).parent == Path(mounts["rest-tls"])
        assert conf[key] in script
    for key in ("keystore-password", "key-password", "truststore-password"):
        assert conf[f"security.ssl.rest.{key}"] in script


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_every_object_names_its_namespace(path: Path) -> None:
    for doc in _docs(path):
        if doc["kind"] != "Namespace":
            assert doc["metadata"].get("namespace") == "telemetry", doc["kind"]


def test_the_catalog_urls_hold_no_password_and_name_the_mounted_client_certificate() -> None:
    secret = _one("Secret")["stringData"]
    names = ("PYICEBERG_CATALOG__TELEMETRY__URI", "TELEMETRY_CATALOG_JDBC_URL")
    settings = load_settings({name: secret[name] for name in names})
    uri = settings.lake.catalog_uri.reveal()
    jdbc = settings.lake.catalog_jdbc_url.reveal()
    assert uri.startswith("postgresql+psycopg2://") and jdbc.startswith("jdbc:postgresql://")
    assert "password" not in uri + jdbc and ":change-me@" not in uri
    main = _one("FlinkDeployment")["spec"]["podTemplate"]["spec"]["containers"][0]
    mounts = [Path(m["mountPath"]) for m in main["volumeMounts"]]
    for url in (uri, jdbc):
        files = [v for k, v in (p.split("=", 1) for p in url.split("?", 1)[1].split("&"))
                 if k in ("sslrootcert", "sslcert", "sslkey")]  # fmt: skip
        assert len(files) == 3, url
        assert all(any(Path(f).parent == m for m in mounts) for f in files), files
    assert jdbc.endswith(".pk8"), "the JDBC driver's key: PKCS#8 DER"
