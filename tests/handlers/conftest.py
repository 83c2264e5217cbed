"""Fixtures: the CSMS handlers over an in-memory connection pair (``csms``), a whole Kilowatt
node on free ports for the tests where the socket matters (``node``), and typed test stations."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from kilowatt.app import Kilowatt
from kilowatt.config import Settings
from kilowatt.csms import Services
from kilowatt.handlers import ConnectedStations, handler_factory
from kilowatt.ocpp import v16, v21, v201
from kilowatt.ocpp.version import OcppVersion
from kilowatt.storage import Database
from kilowatt.storage.sql import SqlRepositories
from kilowatt.transport import StationClient, on
from kilowatt.transport.memory import connection_pair
from tests.app.conftest import node_settings as app_node_settings
from tests.app.conftest import settled as settled


def node_settings(tmp_path: Path, database_url: str, **overrides: Any) -> Settings:
    """The composition-root tests' node settings, with a 120 s heartbeat interval by default."""
    return app_node_settings(tmp_path, database_url, **{"heartbeat_interval": 120, **overrides})


@pytest.fixture
async def node(tmp_path: Path, database_url: str) -> AsyncIterator[Kilowatt]:
    """A started node (open registration), stopped after the test."""
    kilowatt = Kilowatt(node_settings(tmp_path, database_url))
    await kilowatt.start()
    try:
        yield kilowatt
    finally:
        await kilowatt.stop()


@dataclass
class Csms:
    """The CSMS side without servers: services, this node's connected stations, and stations
    connected to its handlers in memory (:func:`kilowatt.transport.memory.connection_pair`)."""

    services: Services
    gateway: ConnectedStations

    @asynccontextmanager
    async def connect(
        self, identity: str, station: type[StationClient], version: OcppVersion
    ) -> AsyncIterator[Any]:
        """A station of class ``station`` connected as ``identity``; yields its handler."""
        factory = handler_factory(self.services, self.gateway)
        async with connection_pair(version, factory, station, identity=identity) as pair:
            yield pair.station


@pytest.fixture
async def csms(tmp_path: Path, database_url: str, db: Database) -> AsyncIterator[Csms]:
    """The CSMS handlers and services on a migrated database (open registration)."""
    services = Services.create(SqlRepositories(db), node_settings(tmp_path, database_url))
    try:
        yield Csms(services, ConnectedStations())
    finally:
        await services.flush()


def ocpp_url(node: Kilowatt) -> str:
    return f"ws://127.0.0.1:{node.ocpp_port}/ocpp"


class Station16(StationClient):
    """A 1.6 charge point that accepts what the CSMS asks and remembers it."""

    received: list[Any]

    def __init__(self, connection: Any) -> None:
        super().__init__(connection)
        self.received = []

    @on(v16.RemoteStartTransactionRequest)
    def remote_start(self, request: Any) -> v16.RemoteStartTransactionResponse:
        self.received.append(request)
        return v16.RemoteStartTransactionResponse(status=v16.RemoteStartTransactionStatus.ACCEPTED)

    @on(v16.RemoteStopTransactionRequest)
    def remote_stop(self, request: Any) -> v16.RemoteStopTransactionResponse:
        self.received.append(request)
        return v16.RemoteStopTransactionResponse(status=v16.RemoteStopTransactionStatus.ACCEPTED)

    @on(v16.ResetRequest)
    def reset(self, request: Any) -> v16.ResetResponse:
        self.received.append(request)
        return v16.ResetResponse(status=v16.ResetStatus.ACCEPTED)

    @on(v16.GetConfigurationRequest)
    def get_configuration(self, request: Any) -> v16.GetConfigurationResponse:
        self.received.append(request)
        known = {
            "HeartbeatInterval": v16.ConfigurationKey(
                key="HeartbeatInterval", readonly=False, value="120"
            )
        }
        keys = request.key or list(known)
        return v16.GetConfigurationResponse(
            configuration_key=[known[k] for k in keys if k in known] or None,
            unknown_key=[k for k in keys if k not in known] or None,
        )

    @on(v16.ChangeConfigurationRequest)
    def change_configuration(self, request: Any) -> v16.ChangeConfigurationResponse:
        self.received.append(request)
        return v16.ChangeConfigurationResponse(status=v16.ChangeConfigurationStatus.ACCEPTED)


def _station_2x(m: Any) -> type[StationClient]:
    class Station2x(StationClient):
        """A 2.x charging station that accepts what the CSMS asks and remembers it."""

        received: list[Any]

        def __init__(self, connection: Any) -> None:
            super().__init__(connection)
            self.received = []

        @on("RequestStartTransaction")
        def request_start(self, request: Any) -> Any:
            self.received.append(request)
            return m.RequestStartTransactionResponse(status=m.RequestStartStopStatus("Accepted"))

        @on("RequestStopTransaction")
        def request_stop(self, request: Any) -> Any:
            self.received.append(request)
            return m.RequestStopTransactionResponse(status=m.RequestStartStopStatus("Accepted"))

        @on("Reset")
        def reset(self, request: Any) -> Any:
            self.received.append(request)
            return m.ResetResponse(status=m.ResetStatus("Scheduled"))

        @on("GetVariables")
        def get_variables(self, request: Any) -> Any:
            self.received.append(request)
            results = []
            for data in request.get_variable_data:
                known = (data.component.name, data.variable.name) == (
                    "OCPPCommCtrlr",
                    "HeartbeatInterval",
                )
                results.append(
                    m.GetVariableResult(
                        attribute_status=m.GetVariableStatus(
                            "Accepted" if known else "UnknownVariable"
                        ),
                        attribute_value="120" if known else None,
                        component=data.component,
                        variable=data.variable,
                    )
                )
            return m.GetVariablesResponse(get_variable_result=results)

        @on("SetVariables")
        def set_variables(self, request: Any) -> Any:
            self.received.append(request)
            return m.SetVariablesResponse(
                set_variable_result=[
                    m.SetVariableResult(
                        attribute_status=m.SetVariableStatus("Accepted"),
                        component=d.component,
                        variable=d.variable,
                    )
                    for d in request.set_variable_data
                ]
            )

    return Station2x


Station201 = _station_2x(v201)
Station21 = _station_2x(v21)
