"""The one masking rule for secrets a station or an operator hands to the CSMS.

A secret is a value that lets its holder act as someone: a station's Basic-auth password, a
VPN or APN password, a private key. Kilowatt needs none of them after passing them on (it
verifies station passwords against their scrypt hash, :mod:`kilowatt.csms.passwords`), so
wherever one would be stored, logged or published it is replaced by :data:`MASK`: the message
journal (:mod:`kilowatt.handlers.secrets` applies this rule to frames), the stored 1.6
configuration keys and 2.x device-model variables, and the station events
(:class:`~kilowatt.csms.events.StationEventRecorded`) with their rows.

Which names are secret (compared case-insensitively):

- :data:`SECRET_SETTINGS`: the 1.6 configuration key ``AuthorizationKey`` (Security Whitepaper
  ed. 3 §2) and the 2.0.1 / 2.1 device-model variable ``BasicAuthPassword`` (of
  ``SecurityCtrlr``, 2.0.1 Part 2 A00), whatever component holds it;
- :data:`SECRET_FIELDS`: JSON members whose value is always a secret, wherever they appear
  (2.x SetNetworkProfile ``basicAuthPassword``, ``apnPassword``, ``password``, and a member
  ``privateKey`` that no OCPP schema has today but a vendor's DataTransfer might).

The VPN ``key`` of SetNetworkProfile is masked by the journal where its place is known; a
member called ``key`` elsewhere (1.6 ``KeyValue.key``) names a setting and is left alone.
Certificates, CSRs and certificate hashes are public and are never masked.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "MASK",
    "SECRET_FIELDS",
    "SECRET_SETTINGS",
    "is_secret_setting",
    "mask_json",
    "mask_setting",
]

MASK = "********"
"""What a secret value is replaced with (8 characters, never a valid station password)."""

SECRET_SETTINGS = frozenset({"authorizationkey", "basicauthpassword"})
"""Casefolded names of the configuration keys / device-model variables whose value is secret."""

SECRET_FIELDS = frozenset({"basicauthpassword", "apnpassword", "password", "privatekey"})
"""Casefolded JSON member names whose value is secret wherever they appear."""


def is_secret_setting(name: str | None) -> bool:
    """Tell whether a 1.6 configuration key or 2.x variable name holds a secret.

    Args:
        name: the key or variable name (any case); None is not secret.

    Returns:
        True for ``AuthorizationKey`` and ``BasicAuthPassword``.
    """
    return name is not None and name.casefold() in SECRET_SETTINGS


def mask_setting(name: str | None, value: str | None) -> str | None:
    """Return the value to store for the setting ``name``: :data:`MASK` when it is secret.

    Args:
        name: the 1.6 configuration key or 2.x variable name.
        value: its value as sent or reported (None: no value, stays None).

    Returns:
        ``value``, or :data:`MASK` when ``name`` is a secret setting and a value is present.
    """
    if value is not None and is_secret_setting(name):
        return MASK
    return value


def _names_secret_setting(item: Mapping[str, Any]) -> bool:
    """Tell whether a JSON object names a secret setting (1.6 ``key`` or 2.x ``variable.name``).

    Args:
        item: a decoded JSON object.

    Returns:
        True when it is a 1.6 ``KeyValue`` / ChangeConfiguration payload of a secret key or a
        2.x item whose ``variable`` is a secret variable.
    """
    key = item.get("key")
    if isinstance(key, str) and is_secret_setting(key):
        return True
    variable = item.get("variable")
    name = variable.get("name") if isinstance(variable, Mapping) else None
    return isinstance(name, str) and is_secret_setting(name)


def mask_json(data: Any) -> Any:
    """Return ``data`` (decoded JSON) with every secret value replaced by :data:`MASK`.

    The value of a :data:`SECRET_FIELDS` member is masked anywhere in the tree. In an object
    naming a secret setting (``{"key": "AuthorizationKey", "value": ...}``,
    ``{"variable": {"name": "BasicAuthPassword"}, "attributeValue": ...}``), its ``value`` and
    ``attributeValue``, and the ``value`` of each of its ``variableAttribute`` entries, are
    masked. Nesting deeper than the JSON decoders accept (about 1000 levels) cannot occur.

    Args:
        data: a JSON-like value (dicts, lists, scalars); not modified.

    Returns:
        ``data`` itself when it holds no secret, else a masked copy (only the containers on
        the way to a secret are copied).
    """
    if isinstance(data, Mapping):
        masked: dict[str, Any] | None = None
        setting = _names_secret_setting(data)
        for name, value in data.items():
            if isinstance(name, str) and name.casefold() in SECRET_FIELDS and value is not None:
                new: Any = MASK
            elif setting and name in ("value", "attributeValue") and value is not None:
                new = MASK
            elif setting and name == "variableAttribute" and isinstance(value, list):
                new = [
                    {**a, "value": MASK} if isinstance(a, Mapping) and "value" in a else a
                    for a in value
                ]
            else:
                new = mask_json(value)
            if new is not value:
                if masked is None:
                    masked = dict(data)
                masked[name] = new
        return data if masked is None else masked
    if isinstance(data, list):
        items = [mask_json(item) for item in data]
        if any(new is not old for new, old in zip(items, data, strict=True)):
            return items
    return data
