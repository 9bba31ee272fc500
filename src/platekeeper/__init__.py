"""platekeeper: an open automated license plate reader that enforces ALPR policy in software."""

__version__ = "0.1.0"
