"""UtcDateTime's SQLite fast path: the same stored text and the same returned datetimes as
SQLAlchemy's composition (``process_bind_param`` + SQLite ``DATETIME`` processors)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from sqlalchemy import DateTime, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.types import TypeDecorator

from kilowatt.storage import Database, hotpath
from kilowatt.storage.sql import stations as station_sql
from kilowatt.storage.sql.stations import SqlStationRepository
from kilowatt.storage.tables import stations
from kilowatt.storage.types import SQLITE_STORAGE_FORMAT, UtcDateTime

DIALECT = sqlite.dialect()
_IMPL: Any = UtcDateTime().dialect_impl(DIALECT)
NEW_BIND = UtcDateTime()._cached_bind_processor(DIALECT)
NEW_RESULT = UtcDateTime()._cached_result_processor(DIALECT, None)
# SQLAlchemy's own composition, which the overrides replace.
OLD_BIND: Any = TypeDecorator.bind_processor(_IMPL, DIALECT)
OLD_RESULT: Any = TypeDecorator.result_processor(_IMPL, DIALECT, None)
# The same, spelled out: the unchanged process_bind_param / process_result_value around
# the SQLite DATETIME processors.
_SQLITE_BIND = DateTime(timezone=True).dialect_impl(DIALECT).bind_processor(DIALECT)
_SQLITE_RESULT = DateTime(timezone=True).dialect_impl(DIALECT).result_processor(DIALECT, None)


def old_bind(value: datetime | None) -> Any:
    assert _SQLITE_BIND is not None
    return _SQLITE_BIND(UtcDateTime().process_bind_param(value, DIALECT))


def old_result(value: Any) -> Any:
    assert _SQLITE_RESULT is not None
    return UtcDateTime().process_result_value(_SQLITE_RESULT(value), DIALECT)


def name(fn: object) -> str:
    """A processor's ``__qualname__`` (which function SQLAlchemy will call)."""
    return str(getattr(fn, "__qualname__", ""))


def outcome(fn: Callable[[Any], Any], value: Any) -> tuple[str, Any]:
    """("ok", value, and tzinfo for datetimes) or ("error", exception type)."""
    try:
        result = fn(value)
    except Exception as exc:
        return ("error", type(exc))
    if isinstance(result, datetime):
        return ("ok", (result, result.tzinfo))
    return ("ok", result)


ZONES = st.one_of(
    st.just(UTC),
    st.sampled_from(
        [
            ZoneInfo("UTC"),
            ZoneInfo("Europe/Berlin"),
            ZoneInfo("America/St_Johns"),  # -03:30 / -02:30
            ZoneInfo("Asia/Kathmandu"),  # +05:45
            ZoneInfo("Pacific/Kiritimati"),  # +14:00
            ZoneInfo("Pacific/Pago_Pago"),  # -11:00
        ]
    ),
    st.timezones(),
    st.builds(
        timezone,
        st.timedeltas(min_value=timedelta(hours=-23, minutes=-59), max_value=timedelta(hours=23)),
    ),
)

AWARE = st.datetimes(timezones=ZONES)  # years 1..9999, any microsecond (often 0)


def test_the_format_is_sqlalchemys_default() -> None:
    assert sqlite.DATETIME._storage_format == SQLITE_STORAGE_FORMAT
    assert NEW_BIND is not None and NEW_RESULT is not None
    assert name(NEW_BIND) == "UtcDateTime.bind_processor.<locals>.process"
    assert name(NEW_RESULT) == "UtcDateTime.result_processor.<locals>.process"


@given(AWARE)
@example(datetime(2026, 11, 21, 12, 0, tzinfo=UTC))
@example(datetime(1, 1, 1, tzinfo=UTC))
@example(datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC))
@example(datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=1))))  # before year 1: overflow
@example(datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-2))))  # after 9999
@example(datetime(2026, 3, 29, 2, 30, tzinfo=ZoneInfo("Europe/Berlin")))  # nonexistent
@example(datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=ZoneInfo("Europe/Berlin")))  # repeated
def test_bind_is_sqlalchemys_text(value: datetime) -> None:
    assert NEW_BIND is not None and OLD_BIND is not None
    expected = outcome(old_bind, value)
    assert outcome(NEW_BIND, value) == expected
    assert outcome(OLD_BIND, value) == expected
    if expected[0] == "ok":
        assert len(expected[1]) == 26  # YYYY-MM-DD HH:MM:SS.ffffff


def test_bind_none_and_naive() -> None:
    assert NEW_BIND is not None
    assert NEW_BIND(None) is None
    with pytest.raises(ValueError, match="naive datetime"):
        NEW_BIND(datetime(2026, 11, 21, 12, 0))
    assert NEW_BIND(datetime(2026, 11, 21, 12, 0, tzinfo=UTC)) == "2026-11-21 12:00:00.000000"
    berlin = datetime(2026, 11, 21, 13, 0, 0, 5, tzinfo=ZoneInfo("Europe/Berlin"))
    assert NEW_BIND(berlin) == "2026-11-21 12:00:00.000005"
    assert NEW_BIND(datetime(5, 1, 2, tzinfo=UTC)) == "0005-01-02 00:00:00.000000"


@given(AWARE)
def test_result_parses_stored_text_like_sqlalchemy(value: datetime) -> None:
    try:
        stored = old_bind(value)
    except OverflowError:
        return
    assert NEW_RESULT is not None and OLD_RESULT is not None
    for candidate in (
        stored,  # what we write
        stored[:19],  # without microseconds
        stored[:23],  # milliseconds
        stored.replace(" ", "T"),
        stored + "+00:00",
        stored + "Z",
        stored + "-05:30",
        stored[:10],  # a bare date
    ):
        expected = outcome(old_result, candidate)
        assert outcome(NEW_RESULT, candidate) == expected, candidate
        assert outcome(OLD_RESULT, candidate) == expected, candidate
    parsed = NEW_RESULT(stored)
    # (against the UTC value: PEP 495 makes inter-zone == False for ambiguous local times)
    assert parsed == value.astimezone(UTC) and parsed.tzinfo is UTC


NEAR_ISO = st.from_regex(
    r"\A[0-9]{4}[-W]?[0-9W]{1,3}-?[0-9]{0,2}([ T][0-9:.,+\-Z ]{0,22})?\Z", fullmatch=True
)


@given(st.one_of(NEAR_ISO, st.text(max_size=40), st.none(), st.integers(), st.binary()))
@example("2026-11-21+00:00")
@example("2026-W47-6")
@example("2026W476")
@example("20261121T120000")
@example("2026-11-21 12")
@example("2026-11-21 24:00:00")
@example("2026-11-21 12:00:00.1")
def test_result_matches_sqlalchemy_on_any_input(value: Any) -> None:
    assert NEW_RESULT is not None
    assert outcome(NEW_RESULT, value) == outcome(old_result, value)


def test_other_dialects_keep_sqlalchemys_composition() -> None:
    dialect: Any = postgresql.dialect()  # type: ignore[no-untyped-call]
    bind = UtcDateTime()._cached_bind_processor(dialect)
    berlin = datetime(2026, 11, 21, 13, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    converted = bind(berlin) if bind is not None else berlin
    assert converted == berlin and converted.tzinfo is UTC
    # A non-default SQLite DATETIME is not the format the fast path writes.
    custom = UtcDateTime()
    custom.impl = custom.impl_instance = sqlite.DATETIME(truncate_microseconds=True)  # type: ignore[no-untyped-call]
    proc = TypeDecorator.bind_processor(custom, DIALECT)
    assert proc is not None
    assert name(custom.bind_processor(DIALECT)) == name(proc)


def test_hotpath_uses_the_fast_processors() -> None:
    # (_Sql, not the module's cache: no entries for this test's dialect left behind)
    update = hotpath._Sql(station_sql._UPDATE, DIALECT, ("last_seen", "hp_id"))
    get = hotpath._Sql(station_sql._GET, DIALECT, ("hp_id",))
    bind = update.procs[update.names.index("last_seen")]
    result = get.results[get.columns.index("last_seen")]
    assert bind is not None and result is not None
    assert NEW_BIND is not None and NEW_RESULT is not None
    assert name(bind) == name(NEW_BIND)
    assert name(result) == name(NEW_RESULT)


TIMES = [
    datetime(2026, 11, 21, 12, 0, tzinfo=UTC),
    datetime(2026, 11, 21, 13, 0, 0, 123456, tzinfo=ZoneInfo("Europe/Berlin")),
    datetime(2026, 11, 21, 6, 15, 0, 1, tzinfo=timezone(timedelta(hours=-5, minutes=-45))),
    datetime(1, 1, 1, 0, 0, tzinfo=UTC),
    datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
]


@pytest.mark.parametrize("at", TIMES, ids=lambda t: t.isoformat())
async def test_round_trip_through_the_database(db: Database, at: datetime) -> None:
    repo = SqlStationRepository(db)
    created = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    # the hot path (raw sqlite3 with the type's processors under the inline driver)
    assert await repo.insert(
        {"id": "CP1", "created_at": created, "updated_at": at, "last_boot": at}
    )
    assert await repo.update("CP1", {"last_seen": at})
    fast = await repo.get("CP1")
    async with db.read() as conn:
        row = (
            (await conn.execute(select(stations).where(stations.c.id == "CP1"))).mappings().first()
        )
        raw = (
            (await conn.execute(text("SELECT updated_at, last_seen FROM stations"))).one()
            if db.dialect == "sqlite"
            else None
        )
        later = (await conn.execute(select(stations.c.id).where(stations.c.updated_at >= at))).all()
    assert row is not None and fast is not None
    for got in (row, fast):
        for column in ("updated_at", "last_boot", "last_seen"):
            assert got[column] == at and got[column].tzinfo is UTC
        assert got["created_at"] == created and got["created_at"].tzinfo is UTC
    assert len(later) == 1  # comparison binds the same text
    if raw is not None:
        assert tuple(raw) == (old_bind(at), old_bind(at))


def test_bind_remembers_the_last_value_by_identity_only() -> None:
    process = _IMPL.bind_processor(DIALECT)
    at = datetime(2026, 11, 21, 12, 0, 1, 5, tzinfo=UTC)
    later = datetime(2026, 11, 21, 12, 0, 2, tzinfo=timezone(timedelta(hours=1)))
    assert process(at) == process(at) == "2026-11-21 12:00:01.000005"
    assert process(later) == "2026-11-21 11:00:02.000000"
    assert process(at) == "2026-11-21 12:00:01.000005"
    with pytest.raises(ValueError):
        process(at.replace(tzinfo=None))
