"""Domain exceptions: the data-access layer turns botocore errors into these, handlers map them to HTTP."""


class ArrowhookError(Exception):
    """Base class for errors the handlers know how to answer."""


class StoreUnavailableError(ArrowhookError):
    """DynamoDB could not be reached or refused the request after retries; the caller may retry."""


class NameTakenError(ArrowhookError):
    """A strategy key with this name already exists (names are unique per deployment)."""


class KeyNotFoundError(ArrowhookError):
    """No strategy key has this id (or it was deleted meanwhile)."""


class KeyConflictError(ArrowhookError):
    """The key changed between reading and writing it (another request won): nothing was written."""


class InvalidFilterError(ArrowhookError):
    """A query's filters cannot be served as asked (a range too wide, since after until): a 400."""


class NotAnExportError(ArrowhookError):
    """A file sent for reconciliation that is not TradingView's List of trades export: a 400 naming what
    was expected."""


class InvalidCursorError(ArrowhookError):
    """A pagination cursor that this API did not issue, or issued for another query."""


class RejectedRequestError(ArrowhookError):
    """A webhook request refused before anything is stored, with a message safe to send back (each API
    maps its errors to HTTP statuses in its own table: functions/webhook/app.py)."""

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        #: For logs and metrics only, never sent to the client (e.g. "unknown key" vs "disabled key").
        self.reason = reason or message


class EmptyBodyError(RejectedRequestError):
    """Nothing to store: TradingView sends the alert message as the body."""


class BadEncodingError(RejectedRequestError):
    """A base64-encoded body that does not decode."""


class UnauthorizedError(RejectedRequestError):
    """No key, an unknown one, or one disabled or past its grace period (one message for all)."""


class SourceNotAllowedError(RejectedRequestError):
    """The caller's address is outside AllowedSourceIps."""


class BodyTooLargeError(RejectedRequestError):
    """A body larger than MaxBodyBytes, or one whose alert could never be stored (DynamoDB's item limit):
    refused up front with a 413, never a 503 that promises a retry may succeed."""


class ArchiveIntegrityError(ArrowhookError):
    """An archive object did not read back as written: nothing it holds is deleted; an operator must look."""


class ArchiveLeaseLostError(StoreUnavailableError):
    """This archive run stopped renewing its lease in time (or another run took it over): it stops
    before its next write, and the lease's holder (or the next run) finishes its journalled batch."""
