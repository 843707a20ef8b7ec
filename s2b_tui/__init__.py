"""s2b-tui: the Sync2Books onboarding console."""

__version__ = "0.1.0"
