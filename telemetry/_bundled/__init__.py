"""The folders the code reads at run time, shipped inside the package.

pyproject.toml maps the checkout's `schemas/`, `infra/` and `flink/` to the
packages `telemetry._bundled.schemas`, `.infra` and `.flink`: a wheel holds them
here, an editable install reads the checkout's own folders in place. Find them
with `telemetry.core.config.bundled`.
"""
