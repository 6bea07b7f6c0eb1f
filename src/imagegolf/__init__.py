"""imagegolf: the smallest container images that print a phrase, and the contest that judges them."""

__version__ = "0.1.0"
