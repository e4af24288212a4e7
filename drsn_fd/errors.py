"""Errors that reach the user as one clear line (exit code 2), never as a traceback."""


class DrsnError(Exception):
    """Base of the errors a user can fix: bad config, bad data, bad checkpoint."""


class ConfigError(DrsnError):
    """A config value is invalid; the message names the key and what is allowed."""


class DataError(DrsnError):
    """A data file or folder is unusable; the message names the file."""


class CheckpointError(DrsnError):
    """A checkpoint is missing, truncated or corrupt; the message names the file."""
