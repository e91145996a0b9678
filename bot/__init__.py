"""Can I share? — safeguarding information-sharing decisions, in chat."""

__version__ = "0.1.0"
