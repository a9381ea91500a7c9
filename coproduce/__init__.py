"""coproduce: coded, co-produced findings from consultation returns and family feedback, offline."""

from coproduce import _offline

_offline.enforce()

__version__ = "0.1.0"

__all__ = ["__version__"]
