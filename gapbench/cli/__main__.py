"""`python -m gapbench.cli`: the same as the `gapbench` command."""

import sys

from gapbench.cli import main

sys.exit(main())
