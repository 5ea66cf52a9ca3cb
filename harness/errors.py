"""One exception hierarchy, rooted at OcrHarnessError.

Each class carries the process exit code the CLI uses for it. Messages say what
was wrong (naming the file or key) and end with the fix where there is one.
Tracebacks are for bugs; these errors are shown to users as one message.
"""

from __future__ import annotations


class OcrHarnessError(Exception):
    """Base of every error the harness raises on purpose."""

    exit_code = 1

    def __init__(self, message: str, *, fix: str | None = None) -> None:
        self.message = message
        self.fix = fix
        super().__init__(self.__str__())

    def __str__(self) -> str:
        return f"{self.message} (fix: {self.fix})" if self.fix else self.message

    def __reduce__(self):  # keep message and fix when pickled across processes
        return (_rebuild, (type(self), self.message, self.fix))


def _rebuild(cls: type[OcrHarnessError], message: str, fix: str | None) -> OcrHarnessError:
    error = cls.__new__(cls)
    OcrHarnessError.__init__(error, message, fix=fix)
    return error


# --- configuration: found before any OCR starts -------------------------------


class ConfigError(OcrHarnessError):
    """The suite, the command line or an option is wrong."""

    exit_code = 2


class PluginError(ConfigError):
    """A plugin failed to import or register."""


class UnknownBackendError(ConfigError):
    """No backend of that name is registered."""


class UnknownStepError(ConfigError):
    """No preprocessing step of that name, or a bad step parameter."""


class UnsupportedLanguageError(ConfigError):
    """The backend cannot read that language (or the code is not one we know)."""


class LicenseError(ConfigError):
    """A licence file is missing or invalid."""


# --- inputs: one bad file is one failed row, never a failed run ---------------


class InputError(OcrHarnessError):
    """A file given to the harness cannot be used."""

    exit_code = 3


class ImageReadError(InputError):
    """An image is missing, empty, truncated, not an image, or too large."""


class GroundTruthError(InputError):
    """A ground-truth file is missing, not UTF-8, or malformed."""


class DatasetError(InputError):
    """A dataset as a whole cannot be loaded (no such folder, bad manifest)."""


# --- outputs: the run folder and reports ----------------------------------------


class OutputError(OcrHarnessError):
    """A run folder or report file cannot be written: read-only, full disk, a file in the way.

    Finished jobs are kept: ``--resume`` completes the run once the cause is fixed.
    """

    exit_code = 5


class RunFolderBusyError(OcrHarnessError):
    """Another process is writing the run folder (a run or a ``--resume`` of it)."""

    exit_code = 6


class ReportError(OutputError):
    """One or more report files could not be written; the others were (``reports`` says which)."""

    def __init__(self, message: str, *, fix: str | None = None, reports: object = None) -> None:
        super().__init__(message, fix=fix)
        self.reports = reports


# --- engines -----------------------------------------------------------------


class EngineError(OcrHarnessError):
    """The OCR engine failed on this input."""

    exit_code = 4


class EngineNotInstalledError(EngineError):
    """The engine or its runtime is not installed here."""


class EngineCrashedError(EngineError):
    """The worker process running the engine died."""


class JobTimeoutError(EngineError):
    """A job ran past its timeout; its worker was stopped."""
