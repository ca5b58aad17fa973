"""One monitored cycle: new data? ingest it, judge the deployed model, retrain and promote only
when that is right, then diagnose, report and list; every decision recorded."""

from riskwatch.fullprocess.cycle import run_cycle
from riskwatch.fullprocess.result import CycleResult, Step

__all__ = ["CycleResult", "Step", "run_cycle"]
