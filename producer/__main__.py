"""`python -m producer ARGS` is `telemetry produce ARGS`."""

import sys

from telemetry.cli.main import main

sys.exit(main(["produce", *sys.argv[1:]]))
