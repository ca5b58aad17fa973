"""The errors a user can act on: the command line shows their message and exits with code 1."""


class RiskwatchError(Exception):
    """A step that failed for a reason the message explains (not a bug)."""


class StoreError(RiskwatchError):
    """The metadata database cannot be opened or used."""
