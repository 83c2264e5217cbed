"""Unit tests of the simulator's model: no I/O, no clock."""

from __future__ import annotations

import socket
import ssl
from pathlib import Path

import pytest

from kilowatt.simulator.config16 import ConfigStatus, ConfigStore
from kilowatt.simulator.connect import check_url, client_ssl_context, describe_failure
from kilowatt.simulator.devicemodel import (
    ComponentKey,
    DeviceModel,
    GetStatus,
    SetStatus,
    VariableKey,
)
from kilowatt.simulator.meter import EvModel, MeterModel
from kilowatt.simulator.profiles import (
    ChargingProfile,
    ChargingSchedule,
    ProfileKind,
    ProfileStore,
    Purpose,
    RateUnit,
    Recurrency,
    SchedulePeriod,
)
from kilowatt.simulator.queue import OfflineQueue, QueuedMessage
from kilowatt.simulator.reservations import Reservation, ReservationStore
from kilowatt.simulator.scenario import ScenarioError, load_scenario, parse_scenario
from kilowatt.simulator.station import SimClock
from kilowatt.simulator.status import (
    ChargePointStatus as S,
)
from kilowatt.simulator.status import (
    ConnectorStatus,
    IllegalTransition,
    StatusMachine2x,
    StatusMachine16,
    to_2x,
)
from kilowatt.transport import HandshakeFailed

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "scenarios"

# -- status machines -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "target"),
    [
        (S.AVAILABLE, S.PREPARING),
        (S.PREPARING, S.CHARGING),
        (S.CHARGING, S.SUSPENDED_EV),
        (S.SUSPENDED_EV, S.CHARGING),
        (S.CHARGING, S.FINISHING),
        (S.FINISHING, S.AVAILABLE),
        (S.FINISHING, S.PREPARING),
        (S.RESERVED, S.PREPARING),
        (S.FAULTED, S.CHARGING),
        (S.UNAVAILABLE, S.AVAILABLE),
    ],
)
def test_16_legal_transitions(start: S, target: S) -> None:
    machine = StatusMachine16(start)
    assert machine.move(target) is True
    assert machine.status is target


@pytest.mark.parametrize(
    ("start", "target"),
    [
        (S.AVAILABLE, S.FINISHING),
        (S.PREPARING, S.RESERVED),
        (S.PREPARING, S.UNAVAILABLE),
        (S.CHARGING, S.PREPARING),
        (S.CHARGING, S.RESERVED),
        (S.FINISHING, S.CHARGING),
        (S.RESERVED, S.CHARGING),
        (S.UNAVAILABLE, S.RESERVED),
    ],
)
def test_16_illegal_transitions(start: S, target: S) -> None:
    machine = StatusMachine16(start)
    with pytest.raises(IllegalTransition):
        machine.move(target)
    assert machine.status is start


def test_same_status_is_no_change() -> None:
    assert StatusMachine16(S.CHARGING).move(S.CHARGING) is False
    assert StatusMachine2x().move(ConnectorStatus.AVAILABLE) is False


def test_2x_status() -> None:
    machine = StatusMachine2x()
    machine.move(ConnectorStatus.OCCUPIED)
    with pytest.raises(IllegalTransition):
        machine.move(ConnectorStatus.RESERVED)
    assert to_2x(S.SUSPENDED_EVSE) is ConnectorStatus.OCCUPIED
    assert to_2x(S.RESERVED) is ConnectorStatus.RESERVED


# -- 1.6 configuration -------------------------------------------------------------------------


def test_config_store_change_and_get() -> None:
    store = ConfigStore(2)
    assert store.change("HeartbeatInterval", "60") is ConfigStatus.ACCEPTED
    assert store.int("HeartbeatInterval") == 60
    assert store.change("HeartbeatInterval", "-1") is ConfigStatus.REJECTED
    assert store.change("HeartbeatInterval", "soon") is ConfigStatus.REJECTED
    assert store.change("NumberOfConnectors", "4") is ConfigStatus.REJECTED  # read-only
    assert store.change("NoSuchKey", "1") is ConfigStatus.NOT_SUPPORTED
    assert store.change("AuthorizeRemoteTxRequests", "FALSE") is ConfigStatus.ACCEPTED
    assert store.bool("AuthorizeRemoteTxRequests") is False
    assert store.change("WebSocketPingInterval", "30") is ConfigStatus.REBOOT_REQUIRED
    known, unknown = store.get(["NumberOfConnectors", "Nope"])
    assert [(k.name, k.value, k.readonly) for k in known] == [("NumberOfConnectors", "2", True)]
    assert unknown == ["Nope"]
    assert len(store.get()[0]) == len(store.get([])[0]) > 30


def test_config_store_measurand_lists() -> None:
    store = ConfigStore(1)
    assert store.change("MeterValuesSampledData", "Energy.Active.Import.Register,SoC") == "Accepted"
    assert store.csl("MeterValuesSampledData") == ["Energy.Active.Import.Register", "SoC"]
    assert store.change("MeterValuesSampledData", "Energy,Bananas") is ConfigStatus.REJECTED
    with pytest.raises(ValueError):
        ConfigStore(1, {"HeartbeatInterval": "x"})


# -- 2.x device model --------------------------------------------------------------------------


def _key(
    component: str, variable: str, evse: int | None = None, instance: str | None = None
) -> VariableKey:
    return VariableKey(ComponentKey(component, None, evse, None), variable, instance)


def test_device_model_get_set_statuses() -> None:
    model = DeviceModel(2)
    assert model.get(_key("OCPPCommCtrlr", "HeartbeatInterval")) == (GetStatus.ACCEPTED, "300")
    assert model.get(_key("NoCtrlr", "HeartbeatInterval"))[0] is GetStatus.UNKNOWN_COMPONENT
    assert model.get(_key("OCPPCommCtrlr", "Nope"))[0] is GetStatus.UNKNOWN_VARIABLE
    assert model.get(_key("OCPPCommCtrlr", "HeartbeatInterval"), "Target")[0] is (
        GetStatus.NOT_SUPPORTED_ATTRIBUTE_TYPE
    )
    assert model.get(_key("SecurityCtrlr", "BasicAuthPassword"))[0] is GetStatus.REJECTED
    assert model.set(_key("SampledDataCtrlr", "TxUpdatedInterval"), "15") is SetStatus.ACCEPTED
    assert model.int("SampledDataCtrlr", "TxUpdatedInterval") == 15
    assert model.set(_key("SampledDataCtrlr", "TxUpdatedInterval"), "-5") is SetStatus.REJECTED
    assert model.set(_key("AuthCtrlr", "AuthorizeRemoteStart"), "maybe") is SetStatus.REJECTED
    assert model.set(_key("SmartChargingCtrlr", "ProfileStackLevel"), "3") is SetStatus.REJECTED
    assert (
        model.set(_key("TxCtrlr", "TxStartPoint"), "Authorized,EVConnected") is SetStatus.ACCEPTED
    )
    assert model.set(_key("TxCtrlr", "TxStartPoint"), "Teleport") is SetStatus.REJECTED
    assert (
        model.set(_key("OCPPCommCtrlr", "WebSocketPingInterval"), "10") is SetStatus.REBOOT_REQUIRED
    )
    assert model.set(_key("Nope", "X"), "1") is SetStatus.UNKNOWN_COMPONENT
    # EVSE-scoped components need their EVSE id.
    assert model.get(_key("EVSE", "Power", evse=2))[0] is GetStatus.ACCEPTED
    assert model.get(_key("EVSE", "Power", evse=3))[0] is GetStatus.UNKNOWN_COMPONENT
    assert (
        model.get(_key("DeviceDataCtrlr", "ItemsPerMessage", instance="GetReport"))[0]
        is GetStatus.ACCEPTED
    )


def test_device_model_reports() -> None:
    model = DeviceModel(1)
    full = model.report("FullInventory")
    config = model.report("ConfigurationInventory")
    summary = model.report("SummaryInventory")
    assert full is not None and config is not None and summary is not None
    assert len(summary) < len(config) < len(full) == len(model)
    assert all(v.key.name == "AvailabilityState" for v in summary)
    assert model.report("Nonsense") is None


# -- meter -------------------------------------------------------------------------------------


def test_meter_energy_monotonic_and_limited() -> None:
    meter = MeterModel(22000.0, phases=3, energy_wh=1000.0, seed=1)
    meter.plug(EvModel(battery_wh=50000, soc_pct=50, max_power_w=11000))
    meter.advance(3600, limit_w=None)
    assert meter.power_w == pytest.approx(11000)  # the EV's limit
    assert meter.energy_wh == pytest.approx(12000)
    meter.advance(60, limit_w=4000)
    assert meter.power_w == pytest.approx(4000)  # the profile's limit
    reading = meter.reading()
    assert 225 < reading.voltage_v < 235
    assert reading.current_a == pytest.approx(4000 / (reading.voltage_v * 3), abs=0.01)
    before = meter.energy_wh
    meter.advance(60, limit_w=4000, energize=False)
    assert meter.energy_wh == before and meter.power_w == 0
    meter.unplug()
    assert meter.reading().soc_pct is None


def test_ev_tapers_and_stops_at_target() -> None:
    ev = EvModel(battery_wh=10000, soc_pct=79, max_power_w=10000, target_soc_pct=100)
    assert ev.accepted_power_w() == 10000
    meter = MeterModel(22000, seed=2)
    meter.plug(ev)
    for _ in range(400):
        meter.advance(10)
    assert ev.full and ev.soc_pct == pytest.approx(100)
    assert meter.power_w == 0
    assert ev.accepted_power_w() == 0


def test_meter_rejects_negative_time() -> None:
    with pytest.raises(ValueError):
        MeterModel().advance(-1)


# -- charging profiles -------------------------------------------------------------------------


def _profile(pid: int, purpose: Purpose, level: int, periods: list[tuple[int, float]], *,
             evse: int = 1, unit: RateUnit = RateUnit.W, start: float = 1000.0,
             kind: ProfileKind = ProfileKind.ABSOLUTE) -> ChargingProfile:  # fmt: skip
    return ChargingProfile(
        pid,
        level,
        purpose,
        kind,
        ChargingSchedule(unit, [SchedulePeriod(s, limit) for s, limit in periods], start=start),
        evse_id=evse,
    )


def test_profile_stacking_and_composite_schedule() -> None:
    store = ProfileStore(2)
    assert store.install(_profile(1, Purpose.TX_DEFAULT, 0, [(0, 11000), (600, 7000)])) is None
    assert store.install(_profile(2, Purpose.TX_DEFAULT, 1, [(0, 9000)], start=1300)) is None
    assert store.install(_profile(3, Purpose.STATION_MAX, 0, [(0, 8000)], evse=0)) is None
    assert store.limit_at(1, 1100) == 8000  # station max caps TxDefault 11000
    assert store.limit_at(1, 1400) == 8000  # stack level 1 (9000) capped
    assert store.limit_at(2, 1100) == 8000  # EVSE 2 has only the station maximum
    assert store.limit_at(0, 1100) == 8000
    store.clear(purpose=Purpose.STATION_MAX)
    assert store.limit_at(1, 1100) == 11000
    assert store.limit_at(1, 1400) == 9000  # higher stack level wins once it starts
    composite = store.composite(1, 1000, 1000, RateUnit.W, evse_max_w=22000)
    assert [(p.start_s, p.limit) for p in composite.periods] == [(0, 11000), (300, 9000)]
    amps = store.composite(1, 1000, 200, RateUnit.A, evse_max_w=22000)
    assert amps.periods[0].limit == pytest.approx(11000 / (230 * 3), abs=0.1)


def test_tx_profile_needs_a_transaction_and_wins() -> None:
    store = ProfileStore(1)
    tx = _profile(5, Purpose.TX, 0, [(0, 16)], unit=RateUnit.A, kind=ProfileKind.RELATIVE)
    assert store.install(tx) == "no transaction on the EVSE"
    store.install(_profile(1, Purpose.TX_DEFAULT, 0, [(0, 11000)]))
    store.transaction_started(1, "tx-1", 2000)
    assert store.install(tx) is None
    assert store.limit_at(1, 2001) == pytest.approx(16 * 230 * 3)
    store.transaction_ended(1)
    assert len(store) == 1 and store.limit_at(1, 2001) == 11000


def test_profile_validation_and_replacement() -> None:
    store = ProfileStore(1)
    assert store.install(_profile(1, Purpose.TX_DEFAULT, 0, [(10, 1)])) is not None
    assert store.install(_profile(1, Purpose.TX_DEFAULT, 99, [(0, 1)])) is not None
    assert store.install(_profile(1, Purpose.STATION_MAX, 0, [(0, 1)], evse=1)) is not None
    assert store.install(_profile(1, Purpose.TX_DEFAULT, 0, [(0, 1)], evse=7)) is not None
    store.install(_profile(1, Purpose.TX_DEFAULT, 0, [(0, 1000)]))
    store.install(_profile(2, Purpose.TX_DEFAULT, 0, [(0, 2000)]))  # same level: replaces 1
    assert [p.id for p in store.profiles()] == [2]
    assert store.clear(profile_id=9) == 0 and store.clear(profile_id=2) == 1


def test_recurring_daily_profile() -> None:
    store = ProfileStore(1)
    daily = _profile(1, Purpose.TX_DEFAULT, 0, [(0, 5000), (3600, 10000)], start=0.0,
                     kind=ProfileKind.RECURRING)  # fmt: skip
    daily.recurrency = Recurrency.DAILY
    assert store.install(daily) is None
    assert store.limit_at(1, 86400 * 3 + 10) == 5000
    assert store.limit_at(1, 86400 * 3 + 3700) == 10000


# -- reservations and offline queue ------------------------------------------------------------


def test_reservations() -> None:
    store = ReservationStore()
    store.add(Reservation(1, 1, "TAG", expiry=100.0, group_id_token="GROUP"))
    assert store.matches(1, "TAG") and store.matches(1, "GROUP") and not store.matches(1, "X")
    assert store.matches(2, "X")
    assert store.expire(50.0) == [] and len(store) == 1
    assert [r.id for r in store.expire(100.0)] == [1]
    assert store.cancel(1) is None


def test_offline_queue_order_and_capacity() -> None:
    queue: OfflineQueue[str] = OfflineQueue(capacity=3)
    queue.put(QueuedMessage("Start", lambda: "start"))
    queue.put(QueuedMessage("Meter", lambda: "m1", droppable=True))
    queue.put(QueuedMessage("Meter", lambda: "m2", droppable=True))
    queue.put(QueuedMessage("Stop", lambda: "stop"))  # full: the oldest droppable goes
    assert [m.build() for m in queue] == ["start", "m2", "stop"]
    assert queue.dropped == 1
    head = queue.peek()
    assert head is not None and head.build() == "start"
    assert queue.pop().action == "Start" and len(queue) == 2
    queue.pop()
    queue.pop()
    assert not queue and queue.peek() is None


def test_offline_queue_never_drops_start_or_stop() -> None:
    queue: OfflineQueue[str] = OfflineQueue(capacity=1)
    queue.put(QueuedMessage("Start", lambda: "a"))
    queue.put(QueuedMessage("Stop", lambda: "b"))
    assert len(queue) == 2 and queue.dropped == 0


# -- scenarios ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.toml")), ids=lambda p: p.name)
def test_example_scenarios_load(path: Path) -> None:
    scenario = load_scenario(path)
    assert scenario.stations >= 1 and scenario.meter_profiles


def test_scenario_parsing() -> None:
    scenario = parse_scenario(
        """
        version = "2.1"
        stations = 3
        prefix = "LOT"
        [sessions]
        id_tokens = ["A"]
        duration_s = [10, 20]
        [[faults]]
        station = "LOT0002"
        at_s = 5
        [[outages]]
        station = 3
        at_s = 1
        duration_s = 2
        [[station]]
        station = 1
        evses = 4
        """
    )
    assert scenario.identity(2) == "LOT0002"
    assert scenario.applies(scenario.faults[0].station, 2)
    assert not scenario.applies(scenario.faults[0].station, 1)
    assert scenario.applies(scenario.outages[0].station, 3)
    override = scenario.override(1)
    assert override is not None and override.evses == 4
    assert scenario.override(2) is None


@pytest.mark.parametrize(
    "text",
    [
        'version = "3.0"',
        "stations = 0",
        "unknown_key = 1",
        "[sessions]\nduration_s = [20, 10]",
        "[[faults]]\nevse = 1",  # at_s missing
        "meter_profiles = []",
        "[[station]]\nstation = 1\nmeter_profile = 'nope'",
        "not toml at all =",
    ],
)
def test_scenario_errors(text: str) -> None:
    with pytest.raises(ScenarioError):
        parse_scenario(text)


# -- the two time frames of SimClock (issue 10) ----------------------------------------------


class FakeClocks:
    """A wall clock and a monotonic clock that only move when told (s)."""

    def __init__(self, wall: float, monotonic: float) -> None:
        self.wall_s = wall
        self.monotonic_s = monotonic

    def wall(self) -> float:
        return self.wall_s

    def monotonic(self) -> float:
        return self.monotonic_s

    def advance(self, seconds: float) -> None:
        self.wall_s += seconds
        self.monotonic_s += seconds


def test_sim_clock_durations_are_simulated_timestamps_are_wall_clock() -> None:
    """At scale 600, 10 s of wall clock are 6000 simulated s, but what a station reports for
    "now" is the wall-clock time: the CSMS never sees a date in the future."""
    clocks = FakeClocks(wall=1_800_000_000.0, monotonic=50.0)
    clock = SimClock(600, wall=clocks.wall, monotonic=clocks.monotonic)
    start = clock.now()
    assert start == 1_800_000_000.0
    clocks.advance(10.0)
    assert clock.now() - start == 6000.0  # durations: simulated
    assert clock.to_wall() == clocks.wall_s  # reported instants: real
    assert clock.iso() == "2027-01-15T08:00:10.000Z"
    assert clock.iso(start + 3000) == "2027-01-15T08:00:05.000Z"  # when it happened
    assert clock.wall(6000) == 10.0


def test_sim_clock_maps_the_csms_absolute_times_onto_the_simulated_timeline() -> None:
    """A reservation expiring in 15 real minutes falls due 15 real minutes later: 9000
    simulated minutes at scale 600."""
    clocks = FakeClocks(wall=1_800_000_000.0, monotonic=0.0)
    clock = SimClock(600, wall=clocks.wall, monotonic=clocks.monotonic)
    clocks.advance(60.0)
    expiry = clock.from_ocpp("2027-01-15T08:16:00Z")  # now (08:01:00) + 15 min
    assert expiry is not None
    assert expiry - clock.now() == 15 * 60 * 600
    assert clock.to_wall(expiry) == clocks.wall_s + 15 * 60
    assert clock.from_ocpp(None) is None
    assert SimClock(1.0).from_wall(1234.5) == 1234.5  # scale 1: one frame


# -- URLs, TLS and connection failures in our words ------------------------------------------


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://127.0.0.1:9000/ocpp", "must start with ws:// or wss://"),
        ("127.0.0.1:9000/ocpp", "must start with ws:// or wss://"),
        ("ws:/127.0.0.1:9000/ocpp", "no host name"),
        ("ws://127.0.0.1:99999/ocpp", "invalid port"),
        ("ws://127.0.0.1:9000/ocpp?x=1", "must not have a query"),
    ],
)
def test_check_url_rejects(url: str, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        check_url(url)


def test_check_url_accepts_ws_and_wss() -> None:
    for url in ("ws://127.0.0.1:9000/ocpp", "WSS://csms.example/ocpp", "ws://[::1]:9000"):
        assert check_url(url) == url


def test_client_ssl_context(tmp_path: Path) -> None:
    assert client_ssl_context("wss://h/ocpp", None) is None  # the transport's default
    with pytest.raises(ValueError, match="only applies to a wss:// URL"):
        client_ssl_context("ws://h/ocpp", tmp_path / "ca.pem")
    with pytest.raises(ValueError, match="cannot load the CA file"):
        client_ssl_context("wss://h/ocpp", tmp_path / "missing.pem")
    (tmp_path / "empty.pem").write_text("no certificate here\n")
    with pytest.raises(ValueError, match="cannot load the CA file"):
        client_ssl_context("wss://h/ocpp", tmp_path / "empty.pem")


@pytest.mark.parametrize(
    ("error", "words"),
    [
        (HandshakeFailed("server answered HTTP 401", 401), "HTTP 401 Unauthorized"),
        (HandshakeFailed("server answered HTTP 404", 404), "HTTP 404 Not Found"),
        (HandshakeFailed("server answered HTTP 503", 503), "refused the handshake with HTTP 503"),
        (HandshakeFailed("handshake failed: x"), "WebSocket handshake failed (x); a TLS port"),
        (HandshakeFailed("the server accepted none of ocpp1.6"), "no OCPP version agreed"),
        (ConnectionRefusedError(111, "x"), "connection refused"),
        (socket.gaierror(-2, "x"), "cannot resolve the host name 'csms.example'"),
        (TimeoutError(), "no answer in time"),
        (ssl.SSLCertVerificationError(1, "x"), "TLS certificate is not trusted"),
        (ssl.SSLError(1, "x"), "TLS handshake failed"),
        (OSError(101, "unreachable"), "network error (unreachable)"),
    ],
)
def test_describe_failure(error: BaseException, words: str) -> None:
    assert words in describe_failure(error, "ws://csms.example:9000/ocpp/CP1")
