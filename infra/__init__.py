"""Package data: this folder ships in the wheel as telemetry._bundled.infra (pyproject.toml)."""
