"""Import order for the processes that load models: scipy.special before pandas and scikit-learn."""

from __future__ import annotations


def scipy_special_first() -> None:
    """Import scipy.special before pandas and scikit-learn, in a process that loads a model."""
    # skops, which saves and loads models, names each of SciPy's 230 special functions when it
    # is imported by looking for it in every module imported before scipy.special: 0.4-0.5 s
    # of CPU once pandas' and scikit-learn's 1,000 modules came first, 0.07 s after numpy's.
    import scipy.special  # noqa: F401, PLC0415
