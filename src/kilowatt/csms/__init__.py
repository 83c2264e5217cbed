"""Version-neutral CSMS domain: services, domain types, events and the station gateway.

This package knows no OCPP version and no HTTP: handlers translate OCPP payloads into the
types of :mod:`kilowatt.csms.model` and call the services; the API calls the same services
and reaches stations through :class:`~kilowatt.csms.gateway.StationGateway`.
"""

from kilowatt.csms.authorization import AuthorizationService, RemoteAuthorizer
from kilowatt.csms.errors import AlreadyExists, NotFound, ServiceError, ValidationError
from kilowatt.csms.events import EventBus
from kilowatt.csms.journal import JournalService
from kilowatt.csms.services import Services
from kilowatt.csms.stations import StationService
from kilowatt.csms.transactions import TransactionService

__all__ = [
    "AlreadyExists",
    "AuthorizationService",
    "EventBus",
    "JournalService",
    "NotFound",
    "RemoteAuthorizer",
    "ServiceError",
    "Services",
    "StationService",
    "TransactionService",
    "ValidationError",
]
