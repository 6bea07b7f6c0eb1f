"""Orchestration for the entrant's commands: SOURCE to an image (files, layouts or a registry),
registry access as one typed value, push and pull. Sits above the adapters (store, registry) and
below the judge; the CLI and the contest reach the registry and the image stores through here."""
