"""The project's own exceptions. Readers and builders raise only these for bad input."""


class DspicError(Exception):
    """Base class: every error the project raises on purpose."""


class ConfigError(DspicError, ValueError):
    """Unknown profile, model or option name, or a bad override value."""


class DataError(DspicError, ValueError):
    """A file or folder that cannot be used as input. The message names the file and the problem."""


class BuildError(DspicError, RuntimeError):
    """A notebook failed while the book was being built."""


class DataWarning(UserWarning):
    """Data that is used, but not all of it or not as one might assume (e.g. unlabelled images left out)."""


class OutputError(DspicError, OSError):
    """An output that cannot be written (a folder where a file is wanted, no space left, ...): the
    message names the path and the problem, and nothing half-written is left behind."""
