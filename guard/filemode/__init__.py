"""File mode: validate JSON Lines / JSON files for CI and local use."""

from guard.filemode.run import FileSummary, validate_files

__all__ = ["FileSummary", "validate_files"]
