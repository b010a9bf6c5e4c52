"""``python -m gapbench.bench``: one engine's worker (see `driver.worker_main`)."""

from gapbench.bench.driver import worker_main

worker_main()
