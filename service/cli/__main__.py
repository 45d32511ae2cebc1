"""`python -m service.cli`: the driftlab command line."""

import sys

from service.cli import main

sys.exit(main())
