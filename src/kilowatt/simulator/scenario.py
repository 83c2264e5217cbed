"""Scenario files: a TOML description of a simulated site, parsed into typed config.

Every time in a scenario is in *simulated* seconds; ``time_scale`` says how many simulated
seconds pass per wall-clock second (10 = ten times faster than real time), which also scales
the intervals the CSMS sets (HeartbeatInterval, MeterValueSampleInterval, ...). Timestamps the
stations send stay wall-clock time whatever the scale (see
:class:`kilowatt.simulator.station.SimClock`). See ``docs/simulator.md`` for the reference of
every key.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Literal

import msgspec

__all__ = [
    "Fault",
    "MeterProfile",
    "Outage",
    "Scenario",
    "Sessions",
    "StationOverride",
    "load_scenario",
    "parse_scenario",
]

Positive = Annotated[float, msgspec.Meta(gt=0)]
NonNegative = Annotated[float, msgspec.Meta(ge=0)]
Percent = Annotated[float, msgspec.Meta(ge=0, le=100)]
Range = tuple[NonNegative, NonNegative]
"""``[low, high]``: a value drawn uniformly for each use (equal bounds give a fixed value)."""


class _Section(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, omit_defaults=True):
    pass


class MeterProfile(_Section):
    """A kind of EV that arrives at the site.

    Attributes:
        name: how faults/stations refer to it.
        max_power_w: the most the car accepts, in W (AC on-board charger or DC battery limit).
        battery_wh: usable battery capacity in Wh.
        soc_start_pct: SoC range (%) the car arrives with.
        soc_target_pct: SoC (%) at which the car stops charging (then SuspendedEV).
        weight: relative frequency among the profiles.
    """

    name: str = "default"
    max_power_w: Positive = 11000.0
    battery_wh: Positive = 60000.0
    soc_start_pct: tuple[Percent, Percent] = (20.0, 60.0)
    soc_target_pct: Percent = 100.0
    weight: NonNegative = 1.0


class Sessions(_Section):
    """Automatic charging sessions (the "drivers" of the site).

    Attributes:
        auto: start sessions on free EVSEs by themselves (False: only remote starts).
        id_tokens: the id tokens drivers present, used round-robin per station.
        duration_s: how long a car stays plugged in, in s (the session then stops, reason
            Local for 1.6 / 2.x; or earlier when stopped remotely).
        idle_s: how long an EVSE stays free between two sessions, in s.
        first_delay_s: delay before the first session of each EVSE, in s.
        max_sessions: stop starting sessions after this many per EVSE (None: unlimited; a
            session refused for its id token counts).
        authorize: send Authorize before starting (False: start directly, like a free-vend
            charger or a locally cached token).
        plug_in_first: plug the car in before presenting the token (status Preparing first).
        next_card_s: after the CSMS refused an id token, how long until the next driver
            presents a card on that EVSE, in s (instead of ``idle_s``).
        next_card_min_wall_s: the least that pause lasts in wall-clock s, whatever the time
            scale (at ``time_scale`` 600 the default ``next_card_s`` alone would be 0.1-0.5 s).
    """

    auto: bool = True
    id_tokens: list[Annotated[str, msgspec.Meta(min_length=1, max_length=20)]] = msgspec.field(
        default_factory=lambda: ["SIMTOKEN01", "SIMTOKEN02", "SIMTOKEN03"]
    )
    duration_s: Range = (60.0, 300.0)
    idle_s: Range = (5.0, 30.0)
    first_delay_s: Range = (0.0, 5.0)
    max_sessions: Annotated[int, msgspec.Meta(ge=0)] | None = None
    authorize: bool = True
    plug_in_first: bool = True
    next_card_s: Range = (60.0, 300.0)
    next_card_min_wall_s: NonNegative = 1.0


class Fault(_Section):
    """A hardware fault on one EVSE: the connector goes Faulted at ``at_s`` and recovers after
    ``duration_s`` (never, when omitted). A session running at the time stops (1.6 reason
    Other, 2.x stoppedReason Other / trigger AbnormalCondition).

    Attributes:
        station: the station name (e.g. "SIM0001") or its 1-based number; omitted = every station.
        evse: the EVSE id (1-based).
        at_s: time from the start of the run, in s.
        duration_s: how long the fault lasts, in s.
        error_code: the 1.6 ChargePointErrorCode (2.x reports it in NotifyEvent-free form as
            the StatusNotification Faulted status).
    """

    at_s: NonNegative
    station: str | int | None = None
    evse: Annotated[int, msgspec.Meta(ge=1)] = 1
    duration_s: Positive | None = None
    error_code: str = "GroundFailure"


class Outage(_Section):
    """A network outage: the station's connection drops at ``at_s`` and it stays offline for
    ``duration_s`` (it keeps charging and queues its transaction messages meanwhile), then it
    reconnects (with backoff) and replays its offline queue.

    Attributes:
        station: the station name or 1-based number; omitted = every station.
        at_s: time from the start of the run, in s.
        duration_s: how long the station cannot reach the CSMS, in s.
    """

    at_s: NonNegative
    duration_s: Positive
    station: str | int | None = None


class StationOverride(_Section):
    """Settings for one station (by name or 1-based number) that differ from the defaults."""

    station: str | int
    evses: Annotated[int, msgspec.Meta(ge=1)] | None = None
    max_power_w: Positive | None = None
    meter_profile: str | None = None
    password: str | None = None
    configuration: dict[str, str] = msgspec.field(default_factory=dict)


class Scenario(_Section):
    """A simulated site.

    Attributes:
        version: OCPP version spoken by every station ("1.6", "2.0.1", "2.1").
        stations: number of stations.
        prefix: identity prefix; stations are ``<prefix>0001``, ``<prefix>0002``, ...
        evses: EVSEs (connectors) per station.
        duration_s: run time in s (wall clock); None = until interrupted.
        time_scale: simulated seconds per wall-clock second (durations run faster; the
            timestamps sent to the CSMS stay wall-clock time).
        sample_interval_s: initial MeterValueSampleInterval (1.6) / TxUpdatedInterval (2.x), s.
        heartbeat_interval_s: initial HeartbeatInterval in s (BootNotification overrides it).
        max_power_w: EVSE rating in W.
        phases: phases used (current A = power W / (230 V × phases)).
        vendor, model, firmware: what BootNotification reports.
        password: HTTP Basic-auth password (security profile 1); None = no auth.
        ca_file: PEM file of the CA certificate(s) trusted for a ``wss://`` CSMS (a self-signed
            server certificate works as its own CA), relative to the current directory; None =
            the system's trust store.
        seed: random seed (sessions, meter noise) for reproducible runs.
        call_timeout_s: how long to wait for an answer to a CALL, s (wall clock).
        reconnect_initial_s, reconnect_max_s: reconnect backoff (wall clock, s).
        boot_retry_s: wait before re-sending BootNotification when the CSMS answered with
            interval 0 (s, simulated).
        queue_capacity: the offline queue's size; beyond it intermediate meter values are
            dropped (never transaction starts or ends). None = unbounded.
        configuration: initial configuration: 1.6 keys (``HeartbeatInterval = "60"``) or 2.x
            ``"Component.Variable"`` names (``"AuthCtrlr.AuthorizeRemoteStart" = "false"``).
        sessions, meter_profiles, faults, outages, station: see their classes.
    """

    version: Literal["1.6", "2.0.1", "2.1"] = "1.6"
    stations: Annotated[int, msgspec.Meta(ge=1)] = 1
    prefix: Annotated[str, msgspec.Meta(min_length=1, max_length=40)] = "SIM"
    evses: Annotated[int, msgspec.Meta(ge=1)] = 2
    duration_s: Positive | None = None
    time_scale: Positive = 1.0
    sample_interval_s: Annotated[int, msgspec.Meta(ge=0)] = 60
    heartbeat_interval_s: Annotated[int, msgspec.Meta(ge=0)] = 300
    max_power_w: Positive = 22000.0
    phases: Literal[1, 3] = 3
    vendor: Annotated[str, msgspec.Meta(max_length=20)] = "Kilowatt"
    model: Annotated[str, msgspec.Meta(max_length=20)] = "Simulator"
    firmware: Annotated[str, msgspec.Meta(max_length=50)] = "0.1.0"
    password: str | None = None
    ca_file: str | None = None
    seed: int | None = None
    call_timeout_s: Positive = 30.0
    reconnect_initial_s: Positive = 1.0
    reconnect_max_s: Positive = 30.0
    boot_retry_s: Positive = 30.0
    queue_capacity: Annotated[int, msgspec.Meta(ge=1)] | None = None
    configuration: dict[str, str] = msgspec.field(default_factory=dict)
    sessions: Sessions = msgspec.field(default_factory=Sessions)
    meter_profiles: list[MeterProfile] = msgspec.field(default_factory=lambda: [MeterProfile()])
    faults: list[Fault] = msgspec.field(default_factory=list)
    outages: list[Outage] = msgspec.field(default_factory=list)
    station: list[StationOverride] = msgspec.field(default_factory=list)

    def identity(self, number: int) -> str:
        """The identity of station ``number`` (1-based): prefix + 4-digit zero-padded number."""
        return f"{self.prefix}{number:04d}"

    def applies(self, selector: str | int | None, number: int) -> bool:
        """True when a fault/outage/override ``selector`` targets station ``number``."""
        if selector is None:
            return True
        if isinstance(selector, int):
            return selector == number
        return selector == self.identity(number)

    def override(self, number: int) -> StationOverride | None:
        """The override section for station ``number``, if any."""
        for section in self.station:
            if self.applies(section.station, number):
                return section
        return None

    def profile(self, name: str) -> MeterProfile | None:
        """The meter profile called ``name``."""
        for profile in self.meter_profiles:
            if profile.name == name:
                return profile
        return None


class ScenarioError(ValueError):
    """A scenario file is not valid TOML or does not match the scenario schema."""


def parse_scenario(text: str) -> Scenario:
    """Parse the TOML ``text`` of a scenario.

    Raises:
        ScenarioError: invalid TOML, an unknown key, a wrong type or a value out of range
            (the message names the key path, e.g. ``$.sessions.duration_s[0]``).
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"invalid TOML: {exc}") from None
    try:
        scenario = msgspec.convert(data, Scenario)
    except msgspec.ValidationError as exc:
        raise ScenarioError(str(exc)) from None
    for name, (low, high) in (
        ("sessions.duration_s", scenario.sessions.duration_s),
        ("sessions.idle_s", scenario.sessions.idle_s),
        ("sessions.first_delay_s", scenario.sessions.first_delay_s),
        ("sessions.next_card_s", scenario.sessions.next_card_s),
    ):
        if low > high:
            raise ScenarioError(f"{name}: low bound {low} above high bound {high}")
    if not scenario.meter_profiles:
        raise ScenarioError("meter_profiles: at least one profile is needed")
    for section in scenario.station:
        if section.meter_profile is not None and scenario.profile(section.meter_profile) is None:
            raise ScenarioError(
                f"station {section.station}: no meter profile {section.meter_profile!r}"
            )
    return scenario


def load_scenario(path: str | Path) -> Scenario:
    """Read and parse the scenario file at ``path`` (see :func:`parse_scenario`)."""
    return parse_scenario(Path(path).read_text(encoding="utf-8"))
