"""Declarative routing of OCPP actions to handler methods, sans-I/O.

Handlers are methods decorated with :func:`on` (answers a CALL) or :func:`after` (runs once the
answer has been sent). This module only records the decorations and finds them on a class; the
asyncio dispatch lives in :mod:`kilowatt.transport.peer`.

Usage::

    class MyStation(StationPeer):
        @on(v16.BootNotificationRequest)            # or @on("BootNotification")
        async def boot(self, request: v16.BootNotificationRequest) -> v16.BootNotificationResponse:
            ...

        @after("BootNotification")
        async def configure(self, request: v16.BootNotificationRequest) -> None:
            ...

A route given a request *type* only matches the version whose action uses that type, so one
class may hold handlers for several OCPP versions. A route given an action *name* matches that
action in every version (the handler then receives whatever request type the version defines).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from kilowatt.ocpp.action import ActionSpec

__all__ = ["Route", "RouteTable", "action_name", "after", "collect_routes", "on"]

_F = TypeVar("_F", bound=Callable[..., Any])
_MARKS = "__kilowatt_routes__"

ActionRef = str | type[Any] | ActionSpec
"""How a decorator names an action: its name, its request type, or its :class:`ActionSpec`."""


@dataclass(frozen=True, slots=True)
class _Mark:
    kind: Literal["on", "after"]
    action: str
    request_type: type[Any] | None


def action_name(action: ActionRef) -> str:
    """Return the OCPP action name for a decorator argument.

    A request type ``<Action>Request`` (the naming of the generated messages) gives ``<Action>``.

    Raises:
        TypeError: ``action`` is a type whose name does not end in ``Request``.
    """
    if isinstance(action, ActionSpec):
        return action.action
    if isinstance(action, str):
        return action
    name = action.__name__
    if not name.endswith("Request") or name == "Request":
        raise TypeError(f"{name} is not a request type (<Action>Request)")
    return name.removesuffix("Request")


def _mark(kind: Literal["on", "after"], action: ActionRef) -> Callable[[_F], _F]:
    name = action_name(action)
    if isinstance(action, ActionSpec):
        request_type: type[Any] | None = action.request
    elif isinstance(action, type):
        request_type = action
    else:
        request_type = None

    def decorate(function: _F) -> _F:
        marks: list[_Mark] = list(getattr(function, _MARKS, ()))
        marks.append(_Mark(kind, name, request_type))
        setattr(function, _MARKS, tuple(marks))
        return function

    return decorate


def on(action: ActionRef) -> Callable[[_F], _F]:
    """Mark a method as the handler answering CALLs (or 2.1 SENDs) of ``action``.

    The method receives the typed request (and, if it takes a second parameter, the call
    context) and returns the typed response; it may be sync or async. Raise
    :class:`kilowatt.ocpp.errors.CallError` to answer with a CALLERROR.
    """
    return _mark("on", action)


def after(action: ActionRef) -> Callable[[_F], _F]:
    """Mark a method to run after the answer to a CALL of ``action`` has been sent.

    It receives the same arguments as the :func:`on` handler; its return value is ignored. It
    does not run when the handler failed.
    """
    return _mark("after", action)


@dataclass(frozen=True, slots=True)
class Route:
    """One decorated method: the action it serves and the attribute that holds it.

    ``request_type`` is None for routes declared by action name (they match every version).
    ``wants_context`` is True when the method takes a second positional parameter.
    """

    action: str
    request_type: type[Any] | None
    attribute: str
    wants_context: bool

    def matches(self, action: str, request_type: type[Any]) -> bool:
        """True when this route serves ``action`` with requests of ``request_type``."""
        return self.action == action and (
            self.request_type is None or self.request_type is request_type
        )


@dataclass(slots=True)
class RouteTable:
    """The routes of one class, by action name."""

    on: dict[str, list[Route]] = field(default_factory=dict)
    after: dict[str, list[Route]] = field(default_factory=dict)

    def find_on(self, action: str, request_type: type[Any]) -> Route | None:
        """Return the handler route for ``action``: a typed match first, then an untyped one."""
        candidates = [r for r in self.on.get(action, ()) if r.matches(action, request_type)]
        candidates.sort(key=lambda r: r.request_type is None)
        return candidates[0] if candidates else None

    def find_after(self, action: str, request_type: type[Any]) -> list[Route]:
        """Return the after-hooks for ``action``, in attribute-name order."""
        return [r for r in self.after.get(action, ()) if r.matches(action, request_type)]

    def actions(self) -> set[str]:
        """Names of every action that has an :func:`on` handler."""
        return set(self.on)


def _wants_context(function: Callable[..., Any]) -> bool:
    try:
        params = list(inspect.signature(function).parameters.values())
    except (TypeError, ValueError):  # pragma: no cover - builtins without signature
        return False
    positional = [
        p
        for p in params
        if p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    ]
    if any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in params):
        return True
    # Unbound function: (self, request[, context]).
    return len(positional) >= 3


_cache: dict[type[Any], RouteTable] = {}


def collect_routes(cls: type[Any]) -> RouteTable:
    """Find the decorated methods of ``cls`` (including inherited ones); cached per class.

    Raises:
        TypeError: two :func:`on` handlers serve the same action with the same request type.
    """
    cached = _cache.get(cls)
    if cached is not None:
        return cached
    table = RouteTable()
    for attribute in sorted(dir(cls)):
        member = inspect.getattr_static(cls, attribute, None)
        if isinstance(member, staticmethod | classmethod):
            continue
        marks: tuple[_Mark, ...] = getattr(member, _MARKS, ())
        if not marks or not callable(member):
            continue
        wants_context = _wants_context(member)
        for mark in marks:
            route = Route(mark.action, mark.request_type, attribute, wants_context)
            bucket = (table.on if mark.kind == "on" else table.after).setdefault(mark.action, [])
            if mark.kind == "on":
                for other in bucket:
                    if other.request_type is route.request_type:
                        raise TypeError(
                            f"{cls.__name__}: {other.attribute} and {attribute} both handle "
                            f"{mark.action}"
                        )
            bucket.append(route)
    _cache[cls] = table
    return table
