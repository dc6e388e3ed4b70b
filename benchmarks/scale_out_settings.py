"""benchmarks/scale_out.py's settings: the project's, with a sync job's lease at 15 s, so the
job of a SIGKILLed worker comes back within the run (the default is 300 s)."""

from dayflow.settings import *  # noqa: F403

DAYFLOW_SYNC_JOB_LEASE = 15
