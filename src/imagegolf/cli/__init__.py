"""Thin front end: one module per command; ``main`` maps errors to exit codes in one place."""
