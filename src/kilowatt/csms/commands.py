"""Version-neutral station commands: one typed request per command, each naming its answer.

A command says what an operator wants (reset a station, start a transaction...) whatever OCPP
version the station speaks; each version's handler translates it into its own action (see the
``commands`` table of :class:`kilowatt.handlers.base.StationHandler`). Requests and answers are
msgspec Structs: a wrong field is a type error, the operator API validates JSON bodies against
them and generates its OpenAPI schema from them (:mod:`kilowatt.api.calls`).

Field names are the API's JSON names (snake_case). Omitted optional fields are left out of
answers. Unknown request fields are ignored.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Generic, TypeVar

import msgspec

__all__ = [
    "COMMANDS",
    "ChangeAvailability",
    "ClearCache",
    "Command",
    "ConfigurationAnswer",
    "ConfigurationItem",
    "DataTransfer",
    "DataTransferAnswer",
    "GetConfiguration",
    "Reset",
    "SetConfiguration",
    "SetConfigurationAnswer",
    "StartTransaction",
    "StartTransactionAnswer",
    "StatusAnswer",
    "StatusInfo",
    "StopTransaction",
    "TriggerMessage",
    "UnlockConnector",
    "answer_type",
    "parse_command",
]

A = TypeVar("A")

EvseId = Annotated[int, msgspec.Meta(ge=0, description="EVSE id (1.6: the connector id)")]
ConnectorId = Annotated[int, msgspec.Meta(ge=0)]


# --- answers ------------------------------------------------------------------------------


class StatusInfo(msgspec.Struct, omit_defaults=True):
    """2.x ``StatusInfoType``: why the station answered as it did."""

    reason_code: str
    additional_info: str | None = None


class StatusAnswer(msgspec.Struct, omit_defaults=True):
    """The station's status answer (``Accepted``, ``Rejected``...), as the action spells it."""

    status: str
    status_info: StatusInfo | None = None


class StartTransactionAnswer(StatusAnswer, omit_defaults=True):
    """Answer to :class:`StartTransaction`.

    2.x: ``remote_start_id`` is the id the station puts in the TransactionEvent that follows;
    ``station_transaction_id`` when one already runs.
    """

    remote_start_id: int | None = None
    station_transaction_id: str | None = None


class ConfigurationItem(msgspec.Struct):
    """One configuration key (2.x: ``Component.Variable[.Attribute]``) and its value."""

    key: str
    value: str | None
    readonly: bool


class ConfigurationAnswer(msgspec.Struct):
    """Answer to :class:`GetConfiguration`: known keys, and the requested keys that are not."""

    configuration: list[ConfigurationItem]
    unknown: list[str]


class SetConfigurationAnswer(msgspec.Struct, omit_defaults=True):
    """Answer to :class:`SetConfiguration`.

    ``status`` is ``Accepted``, ``Rejected``, ``RebootRequired`` or ``NotSupported``; 2.x adds
    the SetVariables ``attribute_status``.
    """

    status: str
    attribute_status: str | None = None


class DataTransferAnswer(StatusAnswer, omit_defaults=True):
    """Answer to :class:`DataTransfer`: the status and the vendor's ``data``, if any."""

    data: Any = None


# --- requests -----------------------------------------------------------------------------


class Command(msgspec.Struct, Generic[A], kw_only=True):
    """Base of the commands; ``A`` is the answer type. ``name`` is the API's command name."""

    name: ClassVar[str]


class StartTransaction(Command[StartTransactionAnswer], kw_only=True):
    """Remote start.

    1.6 RemoteStartTransaction (idTag at most 20 characters); 2.x RequestStartTransaction
    (OCPP 2.0.1 Part 2, F01).
    """

    name: ClassVar[str] = "start-transaction"
    id_token: str
    evse_id: EvseId | None = None
    connector_id: ConnectorId | None = None
    id_token_type: str = "Central"
    """2.x IdTokenEnumType."""
    remote_start_id: int | None = None
    """2.x; default: a random id."""


class StopTransaction(Command[StatusAnswer], kw_only=True):
    """Remote stop of a transaction by its CSMS id.

    1.6 RemoteStopTransaction; 2.x RequestStopTransaction (OCPP 2.0.1 Part 2, F03) with the
    station's own transaction id.
    """

    name: ClassVar[str] = "stop-transaction"
    transaction_id: int


class Reset(Command[StatusAnswer], kw_only=True):
    """1.6 Reset Hard/Soft; 2.x Reset Immediate/OnIdle (B11/B12)."""

    name: ClassVar[str] = "reset"
    type: Annotated[
        str, msgspec.Meta(pattern="^([Hh][Aa][Rr][Dd]|[Ss][Oo][Ff][Tt])$", description="hard|soft")
    ] = "soft"
    evse_id: EvseId | None = None
    """2.x only: reset one EVSE."""


class UnlockConnector(Command[StatusAnswer], kw_only=True):
    """UnlockConnector.

    1.6: the connector is ``connector_id`` or ``evse_id``; 2.x (OCPP 2.0.1 Part 2, F05):
    ``evse_id`` is required, ``connector_id`` defaults to 1.
    """

    name: ClassVar[str] = "unlock-connector"
    evse_id: EvseId | None = None
    connector_id: ConnectorId | None = None


class ChangeAvailability(Command[StatusAnswer], kw_only=True):
    """ChangeAvailability Operative/Inoperative.

    No EVSE: the whole station (1.6 connector 0; 2.x OCPP 2.0.1 Part 2, G03-G05).
    """

    name: ClassVar[str] = "change-availability"
    operative: bool
    evse_id: EvseId | None = None
    connector_id: ConnectorId | None = None


class TriggerMessage(Command[StatusAnswer], kw_only=True):
    """TriggerMessage: ask the station to send ``message``.

    ``message`` is e.g. BootNotification, StatusNotification, Heartbeat, MeterValues;
    optionally for one EVSE/connector.
    """

    name: ClassVar[str] = "trigger-message"
    message: str
    evse_id: EvseId | None = None
    connector_id: ConnectorId | None = None


class GetConfiguration(Command[ConfigurationAnswer], kw_only=True):
    """1.6 GetConfiguration; 2.x GetVariables (B06), or the stored device model.

    2.x reads the stored device model when no key is given. 2.x keys are
    ``Component.Variable`` or ``Component.Variable.Attribute``.
    """

    name: ClassVar[str] = "get-configuration"
    keys: list[str] | None = None
    key: str | None = None
    """One key: the same as ``keys: [key]``."""

    def requested(self) -> list[str]:
        """The keys asked for (empty: all)."""
        if self.keys is not None:
            return self.keys
        return [self.key] if self.key is not None else []


class SetConfiguration(Command[SetConfigurationAnswer], kw_only=True):
    """1.6 ChangeConfiguration; 2.x SetVariables (B05) of one key.

    Booleans are sent as ``true``/``false``, numbers as their text.
    """

    name: ClassVar[str] = "set-configuration"
    key: str
    value: str | int | float | bool


class ClearCache(Command[StatusAnswer], kw_only=True):
    """ClearCache (1.6; 2.x C11)."""

    name: ClassVar[str] = "clear-cache"


class DataTransfer(Command[DataTransferAnswer], kw_only=True):
    """DataTransfer. 1.6 ``data`` is a string (other JSON is sent as its text); 2.x any JSON."""

    name: ClassVar[str] = "data-transfer"
    vendor_id: str
    message_id: str | None = None
    data: Any = None


COMMANDS: dict[str, type[Command[Any]]] = {
    cls.name: cls
    for cls in (
        StartTransaction,
        StopTransaction,
        Reset,
        UnlockConnector,
        ChangeAvailability,
        TriggerMessage,
        GetConfiguration,
        SetConfiguration,
        ClearCache,
        DataTransfer,
    )
}
"""Every command by its API name."""


def answer_type(command: type[Command[Any]]) -> type[Any]:
    """The answer Struct of a command class (the ``A`` of its ``Command[A]`` base).

    Raises:
        TypeError: the class does not name a concrete answer type.
    """
    for klass in command.__mro__:
        for base in klass.__dict__.get("__orig_bases__", ()):
            args = getattr(base, "__args__", ())
            if args and isinstance(args[0], type):
                return args[0]
    raise TypeError(f"{command.__name__} does not name its answer type")


def parse_command(name: str, params: dict[str, Any]) -> Command[Any]:
    """The command ``name`` with the JSON object ``params``.

    Raises:
        KeyError: unknown command name.
        ValueError: the parameters do not fit the command (the message says which and why).
    """
    cls = COMMANDS[name]
    try:
        command: Command[Any] = msgspec.convert(params, cls, strict=True)
    except msgspec.ValidationError as exc:
        raise ValueError(f"{name}: {exc}") from None
    return command
