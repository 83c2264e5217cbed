"""Commands receiver (CPO side): OCPI 2.2.1 Part II ``mod_commands``.

Flow for each ``POST {commands}/{command}``:

1. Validate and pre-check (unknown location → 2003 with ``CommandResponse{REJECTED}``;
   STOP_SESSION of an unknown session, or of another eMSP's session → ``UNKNOWN_SESSION``;
   START_SESSION/RESERVE_NOW with a token of a party that is not the requester's →
   ``REJECTED``; executor pre-check false → ``REJECTED``).
2. Persist the command (``ocpi_commands``, PENDING, with its deadline) and answer at once with
   ``CommandResponse{ACCEPTED, timeout}``.
3. In the background, hand it to the :class:`~kilowatt.ocpi.protocols.CommandExecutor` with
   its own id (each command is correlated with its own OCPP call), bounded by ``timeout``.
4. Map the outcome — the executor's result; :class:`~kilowatt.ocpi.protocols.CommandTimeout` or
   the deadline → ``TIMEOUT``; :class:`~kilowatt.ocpi.protocols.StationOffline` →
   ``EVSE_INOPERATIVE``; any other error → ``FAILED`` — and, in one transaction, mark the
   command RESOLVED and enqueue ``POST response_url`` with the ``CommandResult`` in the outbox
   (so the result survives the partner being down and our own restart).

On start, :meth:`CommandService.recover` posts TIMEOUT for PENDING commands past their
deadline and arms a timer for the others (the CSMS may still resolve them with
:meth:`CommandService.resolve`, e.g. when a 2.0.1 TransactionEvent carries the
``remoteStartId``).
"""

from __future__ import annotations

import asyncio
import logging
import math
import uuid
from datetime import timedelta
from typing import Any

from kilowatt.ocpi.convert import from_wire
from kilowatt.ocpi.envelope import OcpiError, StatusCode
from kilowatt.ocpi.models import v230
from kilowatt.ocpi.models.common import (
    CancelReservation,
    CommandResponse,
    CommandResponseType,
    CommandResult,
    CommandResultType,
    CommandType,
    DisplayText,
    StopSession,
    UnlockConnector,
)
from kilowatt.ocpi.outbox import OutboxWorker
from kilowatt.ocpi.protocols import (
    Caller,
    Command,
    CommandExecutor,
    CommandRequest,
    CommandTimeout,
    CpoBackend,
    StationOffline,
)
from kilowatt.ocpi.settings import OcpiSettings
from kilowatt.ocpi.store import NewOutbox, OcpiStore

log = logging.getLogger(__name__)

_MODELS: dict[CommandType, Any] = {
    CommandType.START_SESSION: v230.StartSession,
    CommandType.STOP_SESSION: StopSession,
    CommandType.RESERVE_NOW: v230.ReserveNow,
    CommandType.CANCEL_RESERVATION: CancelReservation,
    CommandType.UNLOCK_CONNECTOR: UnlockConnector,
}


def parse_command(type_: CommandType, body: Any, version: str) -> CommandRequest:
    """Validate a command body for ``version`` into the canonical request object."""
    parsed: CommandRequest = from_wire(body, _MODELS[type_], version)
    return parsed


class CommandService:
    """Receives, executes, times out and reports OCPI commands."""

    def __init__(
        self,
        settings: OcpiSettings,
        store: OcpiStore,
        backend: CpoBackend,
        executor: CommandExecutor | None,
        worker: OutboxWorker,
    ) -> None:
        self.settings = settings
        self.store = store
        self.backend = backend
        self.executor = executor
        self.worker = worker
        self._tasks: set[asyncio.Task[None]] = set()

    def _response(self, result: CommandResponseType, text: str | None = None) -> CommandResponse:
        return CommandResponse(
            result=result,
            timeout=math.ceil(self.settings.command_timeout),
            message=[DisplayText(language="en", text=text)] if text else None,
        )

    async def _precheck(
        self,
        type_: CommandType,
        req: CommandRequest,
        parties: frozenset[tuple[str, str]] | None,
    ) -> CommandResponse | None:
        """``None`` when the command may go ahead, else the negative CommandResponse."""
        location_id = getattr(req, "location_id", None)
        if location_id is not None:
            location = await self.backend.get_location(location_id)
            if location is None:
                raise OcpiError(
                    StatusCode.UNKNOWN_LOCATION,
                    f"Unknown location {location_id}",
                    data=self._response(CommandResponseType.REJECTED, "Unknown location").to_wire(),
                )
            evse_uid = getattr(req, "evse_uid", None)
            evse = next((e for e in location.evses or [] if e.uid == evse_uid), None)
            if evse_uid is not None and evse is None:
                return self._response(CommandResponseType.REJECTED, "Unknown EVSE")
            connector_id = getattr(req, "connector_id", None)
            if (
                evse is not None
                and connector_id is not None
                and all(c.id != connector_id for c in evse.connectors)
            ):
                return self._response(CommandResponseType.REJECTED, "Unknown connector")
        token = getattr(req, "token", None)
        if (
            token is not None
            and parties is not None
            and (token.country_code.upper(), token.party_id.upper()) not in parties
        ):
            # The session or reservation would belong to (and be shown to) another party.
            return self._response(CommandResponseType.REJECTED, "Token of another party")
        if (
            isinstance(req, StopSession)
            and await self.backend.get_session(req.session_id, parties) is None
        ):
            # Another eMSP's session is as unknown as a session that does not exist.
            return self._response(CommandResponseType.UNKNOWN_SESSION, "Unknown session")
        return None

    async def submit(
        self,
        caller: Caller,
        type_: CommandType,
        body: Any,
        parties: frozenset[tuple[str, str]] | None = None,
    ) -> CommandResponse:
        """Handle one command request; returns the immediate CommandResponse.

        ``parties``: the requester's parties (default: all of the caller's); STOP_SESSION of a
        session charged with another party's token is ``UNKNOWN_SESSION``.
        """
        req = parse_command(type_, body, caller.version or self.settings.versions[0].value)
        if parties is None:
            parties = caller.own_parties()
        negative = await self._precheck(type_, req, parties)
        if negative is not None:
            return negative
        if self.executor is None:
            return self._response(CommandResponseType.NOT_SUPPORTED, "No command executor")
        command = Command(
            id=str(uuid.uuid4()),
            type=type_,
            request=req,
            partner_id=caller.partner_id,
            timeout=self.settings.command_timeout,
        )
        if not await self.executor.can_execute(command):
            return self._response(CommandResponseType.REJECTED, "Not possible on this EVSE")
        now = self.settings.clock()
        await self.store.add_command(
            command_id=command.id,
            partner_id=caller.partner_id,
            type_=type_.value,
            request=req.to_wire(),
            response_url=req.response_url,
            now=now,
            deadline=now + timedelta(seconds=command.timeout),
        )
        self._spawn(self._execute(command))
        return self._response(CommandResponseType.ACCEPTED)

    def _spawn(self, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _execute(self, command: Command) -> None:
        assert self.executor is not None
        try:
            result = await asyncio.wait_for(self.executor.execute(command), command.timeout)
        except (TimeoutError, CommandTimeout):
            result = CommandResultType.TIMEOUT
        except StationOffline:
            result = CommandResultType.EVSE_INOPERATIVE
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("OCPI command %s failed", command.id)
            result = CommandResultType.FAILED
        await self.resolve(command.id, result)

    async def resolve(
        self, command_id: str, result: CommandResultType, message: str | None = None
    ) -> bool:
        """Report the result of a PENDING command (idempotent: later calls return ``False``)."""
        stored = await self.store.get_command(command_id)
        if stored is None or stored.state != "PENDING":
            return False
        body = CommandResult(
            result=result,
            message=[DisplayText(language="en", text=message)] if message else None,
        ).to_wire()
        done = await self.store.resolve_command(
            command_id,
            result.value,
            NewOutbox(stored.partner_id, "POST", None, stored.response_url, body),
            now=self.settings.clock(),
        )
        if done:
            self.worker.wake()
        return done

    async def recover(self) -> int:
        """After a restart: TIMEOUT for overdue PENDING commands, timers for the rest.

        Returns the number of commands resolved immediately.
        """
        now = self.settings.clock()
        resolved = 0
        for cmd in await self.store.pending_commands():
            if cmd.deadline <= now:
                resolved += await self.resolve(cmd.id, CommandResultType.TIMEOUT)
            else:
                self._spawn(self._expire(cmd.id, (cmd.deadline - now).total_seconds()))
        return resolved

    async def _expire(self, command_id: str, delay: float) -> None:
        await asyncio.sleep(delay)
        await self.resolve(command_id, CommandResultType.TIMEOUT)

    async def wait_idle(self) -> None:
        """Wait until every command in flight has been resolved (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def aclose(self) -> None:
        """Cancel commands in flight (they stay PENDING in the database for :meth:`recover`)."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)
