"""Secrets out of the message journal: frames with passwords and keys are stored masked.

:func:`mask_secrets` takes a frame as recorded (its direction, OCPP-J message type, action and
text) and returns the text with each secret value replaced by :data:`MASK`. The frame stays
valid JSON and, where the secret's text can be found and replaced exactly, byte-identical
elsewhere; otherwise it is re-encoded compactly.

What is a secret (everything else, certificates and CSRs included, is public):

- OCPP 1.6 configuration key ``AuthorizationKey`` (the Basic-auth password; Security Whitepaper
  ed. 3 §2): its ``value`` in a ChangeConfiguration CALL and in a GetConfiguration
  CALLRESULT (the key is write-only, but a station might return it anyway).
- OCPP 2.0.1 / 2.1 device-model variable ``BasicAuthPassword`` (of ``SecurityCtrlr``; matched
  in any component): ``attributeValue`` in SetVariables CALLs and GetVariables CALLRESULTs,
  the ``value`` of its ``variableAttribute`` in NotifyReport CALLs.
- 2.0.1 / 2.1 SetNetworkProfile ``connectionData``: ``basicAuthPassword`` (2.1),
  ``apn.apnPassword``, ``vpn.password`` and ``vpn.key``.

Names are compared case-insensitively, by the rule of :mod:`kilowatt.csms.secrets` (which
also masks the stored settings and the station events, with the same :data:`MASK`).
DataTransfer is free-form and is left as it is. The decision is taken on the action first
(one frozenset lookup), so a frame of any other action costs nothing and is returned as the
same object.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import msgspec

from kilowatt.csms.secrets import MASK, is_secret_setting

__all__ = ["MASK", "SECRET_ACTIONS", "mask_secrets"]

_MASK_JSON = '"' + MASK + '"'

_decode = msgspec.json.Decoder()
_encode = msgspec.json.Encoder()


def _is_secret_key(item: Any) -> bool:
    """Tell whether a 1.6 ``KeyValue`` / ChangeConfiguration payload names a secret key.

    Args:
        item: the decoded object (anything: the frame is not validated).

    Returns:
        True when ``item["key"]`` is a secret configuration key.
    """
    key = item.get("key") if isinstance(item, dict) else None
    return isinstance(key, str) and is_secret_setting(key)


def _is_secret_variable(item: Any) -> bool:
    """Tell whether a 2.x item with ``component`` and ``variable`` names a secret variable.

    Args:
        item: the decoded object (anything: the frame is not validated).

    Returns:
        True when ``item["variable"]["name"]`` is a secret variable.
    """
    if not isinstance(item, dict):
        return False
    variable = item.get("variable")
    name = variable.get("name") if isinstance(variable, dict) else None
    return isinstance(name, str) and is_secret_setting(name)


def _mask_field(item: Any, field: str, found: list[Any]) -> None:
    """Replace ``item[field]`` with the mask, remembering the old value in ``found``.

    Args:
        item: a decoded JSON object (or anything else, then nothing happens).
        field: the member to mask when present.
        found: collects the masked values.
    """
    if isinstance(item, dict) and field in item:
        found.append(item[field])
        item[field] = MASK


def _items(payload: Any, field: str) -> list[Any]:
    """Return the list ``payload[field]``, or an empty list when there is none.

    Args:
        payload: the decoded payload.
        field: the member holding a list.

    Returns:
        The list, or ``[]``.
    """
    items = payload.get(field) if isinstance(payload, dict) else None
    return items if isinstance(items, list) else []


def _change_configuration(payload: Any, found: list[Any]) -> None:
    """Mask a 1.6 ChangeConfiguration request of a secret key.

    Args:
        payload: the decoded payload.
        found: collects the masked values.
    """
    if _is_secret_key(payload):
        _mask_field(payload, "value", found)


def _get_configuration(payload: Any, found: list[Any]) -> None:
    """Mask secret keys in a 1.6 GetConfiguration answer.

    Args:
        payload: the decoded payload.
        found: collects the masked values.
    """
    for item in _items(payload, "configurationKey"):
        if _is_secret_key(item):
            _mask_field(item, "value", found)


def _set_variables(payload: Any, found: list[Any]) -> None:
    """Mask secret variables in a 2.x SetVariables request.

    Args:
        payload: the decoded payload.
        found: collects the masked values.
    """
    for item in _items(payload, "setVariableData"):
        if _is_secret_variable(item):
            _mask_field(item, "attributeValue", found)


def _get_variables(payload: Any, found: list[Any]) -> None:
    """Mask secret variables in a 2.x GetVariables answer.

    Args:
        payload: the decoded payload.
        found: collects the masked values.
    """
    for item in _items(payload, "getVariableResult"):
        if _is_secret_variable(item):
            _mask_field(item, "attributeValue", found)


def _notify_report(payload: Any, found: list[Any]) -> None:
    """Mask secret variables in a 2.x NotifyReport request.

    Args:
        payload: the decoded payload.
        found: collects the masked values.
    """
    for item in _items(payload, "reportData"):
        if _is_secret_variable(item):
            for attribute in _items(item, "variableAttribute"):
                _mask_field(attribute, "value", found)


def _set_network_profile(payload: Any, found: list[Any]) -> None:
    """Mask the passwords and VPN key of a 2.x SetNetworkProfile request.

    Args:
        payload: the decoded payload.
        found: collects the masked values.
    """
    data = payload.get("connectionData") if isinstance(payload, dict) else None
    if not isinstance(data, dict):
        return
    _mask_field(data, "basicAuthPassword", found)
    apn = data.get("apn")
    _mask_field(apn, "apnPassword", found)
    vpn = data.get("vpn")
    _mask_field(vpn, "password", found)
    _mask_field(vpn, "key", found)


_Masker = Callable[[Any, list[Any]], None]

# (action, answer?) -> masker; answer: the payload of a CALLRESULT rather than a CALL / SEND.
_MASKERS: dict[tuple[str, bool], _Masker] = {
    ("ChangeConfiguration", False): _change_configuration,
    ("GetConfiguration", True): _get_configuration,
    ("SetVariables", False): _set_variables,
    ("GetVariables", True): _get_variables,
    ("NotifyReport", False): _notify_report,
    ("SetNetworkProfile", False): _set_network_profile,
}

SECRET_ACTIONS = frozenset(action for action, _ in _MASKERS)
"""The actions whose frames may carry a secret (the only ones :func:`mask_secrets` parses)."""


def mask_secrets(
    direction: Literal["in", "out"],
    message_type: int,
    action: str | None,
    text: str,
) -> str:
    """Return the frame's text with its secret values replaced by :data:`MASK`.

    Args:
        direction: ``"in"`` (from the station) or ``"out"``; both are masked alike.
        message_type: the OCPP-J message type id (2 CALL, 3 CALLRESULT, 6 SEND are looked at).
        action: the frame's action; for a CALLRESULT, the action of the CALL it answers.
        text: the frame as sent on the wire.

    Returns:
        ``text`` itself when the frame cannot hold a secret or holds none; else the masked
        text (valid JSON). A frame of a secret-bearing action that is not valid JSON is
        replaced by :data:`MASK` as a whole: where its secret is cannot be known.
    """
    if action not in SECRET_ACTIONS:
        return text
    if message_type == 2 or message_type == 6:
        masker, index = _MASKERS.get((action, False)), 3
    elif message_type == 3:
        masker, index = _MASKERS.get((action, True)), 2
    else:
        return text
    if masker is None:
        return text
    try:
        frame = _decode.decode(text)
    except (msgspec.DecodeError, RecursionError):
        return MASK
    if not isinstance(frame, list) or len(frame) <= index:
        return text
    found: list[Any] = []
    masker(frame[index], found)
    if not found:
        return text
    return _replace_in_text(text, frame, found)


def _replace_in_text(text: str, masked: list[Any], found: list[Any]) -> str:
    """Replace the secrets in ``text`` itself when that gives exactly ``masked``.

    Args:
        text: the original frame.
        masked: the decoded frame with its secrets masked.
        found: the secret values taken out of it.

    Returns:
        ``text`` with each secret's JSON text replaced by the mask when the result decodes to
        ``masked`` (so nothing else changed and no secret is left); else ``masked``
        re-encoded compactly.
    """
    replaced = text
    for value in found:
        if isinstance(value, str):
            replaced = replaced.replace(_encode.encode(value).decode(), _MASK_JSON)
    try:
        if _decode.decode(replaced) == masked:
            return replaced
    except msgspec.DecodeError:
        pass
    return _encode.encode(masked).decode()
