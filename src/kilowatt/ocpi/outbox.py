"""Durable push to partners: the outbox table, its delivery worker, and the push API.

Everything Kilowatt sends to a partner on its own initiative goes through ``ocpi_outbox``
(:class:`~kilowatt.storage.ocpi_models.OcpiOutbox`): location/EVSE PATCHes, session PUT/PATCH,
CDR POST, tariff PUT, and CommandResults to ``response_url``. A row is deleted from the
delivery queue only when the partner answered HTTP 2xx with an OCPI 1xxx status; otherwise it
is retried after ``min(retry_base * 2**attempts, retry_max)`` seconds, forever — nothing is lost
while a partner is down. Rows of one partner are delivered strictly in order (a session PATCH
never overtakes its PUT): the first undelivered row of a partner blocks the later ones.

Delivery is at least once. Each attempt first *claims* its row
(:meth:`~kilowatt.ocpi.store.OcpiStore.claim`: one conditional UPDATE that counts the attempt
and leases the row for ``delivery_lease`` seconds), so two workers on one database — several
nodes, or overlapping passes — never send the same row at the same time; a worker that loses
the claim treats the partner as blocked for this pass, which keeps the order. What remains is
the unavoidable case of a request that reached the partner but whose answer we never got
(timeout, dropped connection): it is sent again. Every attempt of one row carries the same
``X-Correlation-ID`` (derived from the row), so a partner can recognise the repetition.

Push targets (OCPI 2.2.1 Part II, receiver interfaces of the eMSP):

- locations: ``PUT {locations}/{cc}/{pid}/{location_id}``,
  ``PATCH {locations}/{cc}/{pid}/{location_id}/{evse_uid}`` (status + ``last_updated``);
- sessions: ``PUT {sessions}/{cc}/{pid}/{session_id}`` on create, ``PATCH`` (with
  ``last_updated``) on update;
- cdrs: ``POST {cdrs}``; tariffs: ``PUT {tariffs}/{cc}/{pid}/{tariff_id}``.

Locations and tariffs go to every registered partner with that receiver endpoint; sessions
and CDRs only to the partner that issued the session's token (``cdr_token`` country/party).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from kilowatt.ocpi.client import OcpiClient, PartnerError, Party
from kilowatt.ocpi.convert import to_wire
from kilowatt.ocpi.models import v230
from kilowatt.ocpi.models.common import InterfaceRole, ModuleID, Status, format_datetime
from kilowatt.ocpi.settings import OcpiSettings
from kilowatt.ocpi.store import NewOutbox, OcpiStore, OutboxEntry, PartnerInfo

log = logging.getLogger(__name__)

_CORRELATION = uuid.UUID("5d7c1f0e-8f7b-4c1e-9a43-6b0d9c2f4e11")
"""Namespace of the outbox rows' ``X-Correlation-ID`` (UUID v5)."""


def correlation_id(entry: OutboxEntry) -> str:
    """The ``X-Correlation-ID`` of every attempt to deliver ``entry`` (stable across retries)."""
    return str(uuid.uuid5(_CORRELATION, f"{entry.id}/{entry.created_at.isoformat()}"))


class OutboxWorker:
    """Delivers outbox rows; :meth:`run_once` is one pass, :meth:`run` loops until cancelled."""

    def __init__(self, settings: OcpiSettings, store: OcpiStore, client: OcpiClient) -> None:
        self.settings = settings
        self.store = store
        self.client = client
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Ask the running loop to make a pass now (called after enqueueing)."""
        self._wake.set()

    def backoff(self, attempts: int) -> float:
        """Seconds to wait after the ``attempts``-th failure (1-based)."""
        s = self.settings
        return float(min(s.retry_base * (2 ** max(attempts - 1, 0)), s.retry_max))

    async def run_once(self) -> int:
        """Try every due row once (per-partner order kept). Returns the number delivered."""
        now = self.settings.clock()
        delivered = 0
        blocked: set[str] = set()
        partners: dict[str, PartnerInfo | None] = {}
        us = Party(self.settings.country_code, self.settings.party_id)
        for entry in await self.store.undelivered():
            if entry.partner_id in blocked:
                continue
            if entry.next_attempt_at > now:
                blocked.add(entry.partner_id)
                continue
            lease = now + timedelta(seconds=self.settings.delivery_lease)
            if not await self.store.claim(entry.id, attempts=entry.attempts, until=lease):
                # Another worker is delivering (or has delivered) this row since we read it;
                # the partner's later rows must wait for it.
                blocked.add(entry.partner_id)
                continue
            if entry.partner_id not in partners:
                partners[entry.partner_id] = await self.store.get_partner(entry.partner_id)
            partner = partners[entry.partner_id]
            try:
                if partner is None or not partner.their_token:
                    raise PartnerError("partner not registered")
                if entry.module is None:
                    url = entry.target
                else:
                    base = await self.store.endpoint(
                        partner.id, entry.module, InterfaceRole.RECEIVER.value
                    )
                    if base is None:
                        raise PartnerError(f"partner has no {entry.module} receiver endpoint")
                    url = base + entry.target
                them = (
                    Party(partner.country_code, partner.party_id)
                    if partner.country_code and partner.party_id
                    else None
                )
                await self.client.request(
                    entry.method,
                    url,
                    partner.their_token,
                    json=entry.body,
                    sender=us,
                    receiver=them,
                    correlation_id=correlation_id(entry),
                )
            except PartnerError as exc:
                blocked.add(entry.partner_id)
                retry_at = now + timedelta(seconds=self.backoff(entry.attempts + 1))
                log.info("OCPI push %s failed (attempt %d): %s", entry.id, entry.attempts + 1, exc)
                await self.store.mark_failed(entry.id, error=str(exc), retry_at=retry_at)
                continue
            await self.store.mark_delivered(entry.id, now=self.settings.clock())
            delivered += 1
        return delivered

    async def _next_due(self) -> datetime | None:
        rows = await self.store.undelivered(limit=500)
        return min((r.next_attempt_at for r in rows), default=None)

    async def run(self, poll_interval: float = 30.0) -> None:
        """Deliver forever: after each pass sleep until woken, the next due row, or the poll."""
        while True:
            self._wake.clear()
            try:
                await self.run_once()
            except Exception:
                log.exception("OCPI outbox pass failed")
            due = await self._next_due()
            delay = poll_interval
            if due is not None:
                delay = max(0.0, min(poll_interval, (due - self.settings.clock()).total_seconds()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=delay or 0.001)


class Push:
    """The push API the CSMS calls when its data changes (enqueues; never blocks on partners)."""

    def __init__(self, settings: OcpiSettings, store: OcpiStore, worker: OutboxWorker) -> None:
        self.settings = settings
        self.store = store
        self.worker = worker

    def _path(self, *parts: str) -> str:
        s = self.settings
        return "/" + "/".join([s.country_code, s.party_id, *parts])

    async def _fan_out(
        self,
        module: ModuleID,
        method: str,
        target: str,
        build: Any,
        partners: Iterable[PartnerInfo] | None = None,
    ) -> int:
        chosen = list(partners) if partners is not None else await self.store.registered_partners()
        entries: list[NewOutbox] = []
        for p in chosen:
            if p.version is None:
                continue
            if await self.store.endpoint(p.id, module.value, InterfaceRole.RECEIVER.value) is None:
                continue
            entries.append(NewOutbox(p.id, method, module.value, target, build(p.version)))
        await self.store.enqueue(entries, now=self.settings.clock())
        if entries:
            self.worker.wake()
        return len(entries)

    async def _token_owner(self, token: v230.CdrToken) -> list[PartnerInfo]:
        out = []
        for p in await self.store.registered_partners():
            roles = p.roles or []
            if any(
                r.get("country_code", "").upper() == token.country_code.upper()
                and r.get("party_id", "").upper() == token.party_id.upper()
                for r in roles
            ):
                out.append(p)
        return out

    async def location_updated(self, location: v230.Location) -> int:
        """PUT the whole location to every eMSP. Returns the number of rows enqueued."""
        return await self._fan_out(
            ModuleID.LOCATIONS, "PUT", self._path(location.id), lambda v: to_wire(location, v)
        )

    async def evse_status_changed(
        self, location_id: str, evse_uid: str, status: Status, last_updated: datetime
    ) -> int:
        """PATCH ``{status, last_updated}`` of one EVSE to every eMSP."""
        body = {"status": status.value, "last_updated": format_datetime(last_updated)}
        return await self._fan_out(
            ModuleID.LOCATIONS, "PATCH", self._path(location_id, evse_uid), lambda v: body
        )

    async def tariff_updated(self, tariff: v230.Tariff) -> int:
        """PUT a tariff to every eMSP."""
        return await self._fan_out(
            ModuleID.TARIFFS, "PUT", self._path(tariff.id), lambda v: to_wire(tariff, v)
        )

    async def session_created(self, session: v230.Session) -> int:
        """PUT a new session to the eMSP owning its token."""
        return await self._fan_out(
            ModuleID.SESSIONS,
            "PUT",
            self._path(session.id),
            lambda v: to_wire(session, v),
            await self._token_owner(session.cdr_token),
        )

    async def session_updated(self, session: v230.Session, fields: Iterable[str]) -> int:
        """PATCH the named fields of a session (``last_updated`` always included)."""
        names = {*fields, "last_updated"}

        def build(version: str) -> dict[str, Any]:
            full = to_wire(session, version)
            return {k: v for k, v in full.items() if k in names}

        return await self._fan_out(
            ModuleID.SESSIONS,
            "PATCH",
            self._path(session.id),
            build,
            await self._token_owner(session.cdr_token),
        )

    async def cdr_created(self, cdr: v230.CDR) -> int:
        """POST a CDR (once) to the eMSP owning its token."""
        return await self._fan_out(
            ModuleID.CDRS,
            "POST",
            "",
            lambda v: to_wire(cdr, v),
            await self._token_owner(cdr.cdr_token),
        )
