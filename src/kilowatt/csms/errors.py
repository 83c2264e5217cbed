"""Errors raised by the CSMS services (the API maps them to 404, 409 and 422)."""

from __future__ import annotations

__all__ = ["AlreadyExists", "NotFound", "ServiceError", "ValidationError"]


class ServiceError(Exception):
    """Base of service errors; ``str(error)`` is a message fit for an operator."""


class NotFound(ServiceError, LookupError):
    """The station, id token or transaction does not exist."""


class AlreadyExists(ServiceError):
    """A record with that identity already exists."""


class ValidationError(ServiceError, ValueError):
    """An input violates a rule (e.g. password length, security profile)."""
