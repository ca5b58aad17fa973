"""Reporting: plots, and one HTML/PDF report for client managers and data scientists."""

from riskwatch.reporting.gather import Given, ReportError
from riskwatch.reporting.report import ReportResult, build_report
from riskwatch.reporting.summary import ManagerSummary

__all__ = ["Given", "ManagerSummary", "ReportError", "ReportResult", "build_report"]
