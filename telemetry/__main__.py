"""`python -m telemetry` is the `telemetry` command."""

import sys

from telemetry.cli import main

sys.exit(main())
