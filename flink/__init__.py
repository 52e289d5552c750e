"""Package data: this folder ships in the wheel as telemetry._bundled.flink (pyproject.toml)."""
