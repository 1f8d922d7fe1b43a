"""Student-facing checks. ``core`` holds the API; ``chNN`` the visible checks of a chapter."""
from .core import CheckFailed, Report, check_array, check_close, check_equal, check_raises, check_shape, tolerance

__all__ = ["CheckFailed", "Report", "check_array", "check_close", "check_equal", "check_raises", "check_shape", "tolerance"]
