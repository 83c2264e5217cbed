"""The soak tool: the plateau verdict on synthetic series, and a seconds-long real run.

The real run starts ``kilowatt serve`` as a subprocess (as ``bench.soak`` always does), drives
a few stations of both OCPP versions over real sockets, and checks that it sampled the server
and wrote its CSV and JSON report, and that ``bench.plot`` draws the report. Nothing here
asserts a speed.
"""

from __future__ import annotations

import csv
import itertools
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from bench import plot, soak

ROOT = Path(__file__).resolve().parents[2]
KILOWATT = Path(sys.executable).parent / "kilowatt"

TIMES = [float(t) for t in range(0, 310, 10)]


def test_linear_growth_grows() -> None:
    result = soak.plateau(TIMES, [1000.0 + 50.0 * t for t in TIMES])
    assert result["verdict"] == "grows"
    assert result["ratio"] == pytest.approx(1.0)


def test_saturating_growth_plateaus() -> None:
    values = [100.0 * min(t, 60.0) + 5000.0 for t in TIMES]
    result = soak.plateau(TIMES, values)
    assert result["verdict"] == "plateau"
    assert result["last_third_growth"] == 0.0
    assert result["first_third_growth"] > 0


def test_bounded_sawtooth_plateaus() -> None:
    # A WAL that a checkpoint truncates every 40 s: bounded, never flat.
    values = [float((t % 40) * 1_000_000) for t in TIMES]
    result = soak.plateau(TIMES, values)
    assert result["verdict"] == "plateau"
    assert result["last_third_growth"] == 0.0


def test_file_that_never_existed_is_absent() -> None:
    assert soak.plateau(TIMES, [0.0] * len(TIMES))["verdict"] == "absent"


def test_growth_resuming_late_grows() -> None:
    values = [1000.0 if t < 200 else 1000.0 + 100.0 * (t - 200) for t in TIMES]
    assert soak.plateau(TIMES, values)["verdict"] == "grows"


def test_too_few_samples_are_refused() -> None:
    with pytest.raises(ValueError):
        soak.plateau([0.0, 1.0], [1.0, 2.0])
    with pytest.raises(ValueError):
        soak.plateau([0.0, 1.0, 2.0], [1.0, 2.0])


def test_nice_ticks_cover_the_range() -> None:
    ticks = plot.nice_ticks(0.0, 437.0)
    assert ticks[0] <= 0.0 and ticks[-1] >= 437.0
    steps = {round(b - a, 6) for a, b in itertools.pairwise(ticks)}
    assert steps == {100.0}
    flat = plot.nice_ticks(5.0, 5.0)
    assert flat[0] <= 5.0 <= flat[-1] and len(flat) >= 2


def test_render_refuses_an_empty_report() -> None:
    with pytest.raises(ValueError):
        plot.render({"samples": []})


def test_bad_arguments_exit_2() -> None:
    with pytest.raises(SystemExit) as exc:
        soak.main(["--versions", "1.5"])
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        soak.main(["--duration", "10", "--interval", "5"])
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        soak.main(["--require-plateau", "kilowatt.db,heap"])
    assert exc.value.code == 2


def test_short_soak_samples_and_writes_its_report(tmp_path: Path) -> None:
    out = tmp_path / "results"
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.soak",
            "--stations",
            "4",
            "--duration",
            "6",
            "--interval",
            "2",
            "--kilowatt-cmd",
            str(KILOWATT),
            "--out-dir",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,  # a hang guard for CI, not a speed assertion
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    (csv_path,) = out.glob("*-soak.csv")
    (json_path,) = out.glob("*-soak.json")

    with open(csv_path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert tuple(rows[0]) == soak.CSV_FIELDS
    assert len(rows) == 4  # before the load, then at 2, 4 and 6 s
    assert [float(r["t_s"]) for r in rows] == sorted(float(r["t_s"]) for r in rows)
    assert all(int(r["rss_kb"]) > 0 for r in rows)
    assert all(int(r["kilowatt.db"]) > 0 for r in rows)
    loaded = rows[1:]
    assert all(int(r["calls"]) > 0 and float(r["p99_ms"]) > 0 for r in loaded)
    assert sum(int(r["sessions"]) for r in loaded) > 0
    assert all(int(r["errors"]) == 0 for r in loaded)

    report = json.loads(json_path.read_text())
    assert [(s["t_s"], s["rss_kb"]) for s in report["samples"]] == [
        (float(r["t_s"]), int(r["rss_kb"])) for r in rows
    ]
    assert set(report["verdicts"]) == {"rss_kb", *soak.DB_FILES, "db_total_bytes"}
    assert {v["verdict"] for v in report["verdicts"].values()} <= {"plateau", "grows", "absent"}
    assert report["load"]["1.6"]["booted"] == 2
    assert report["load"]["2.0.1"]["booted"] == 2
    assert report["server_exit_code"] == 0
    # A clean shutdown checkpoints the main database's WAL into the database file.
    assert report["after_shutdown"]["kilowatt.db-wal"] == 0
    assert "verdicts" in completed.stdout
    table = soak.milestone_table(report)
    assert len(table) == 3  # header, separator, the last sample (no whole minute in 6 s)
    assert len({line.count("|") for line in table}) == 1

    svg_path = tmp_path / "soak.svg"
    assert plot.main([str(json_path), str(svg_path)]) == 0
    root = ET.fromstring(svg_path.read_text())
    polylines = root.findall("{http://www.w3.org/2000/svg}polyline")
    # RSS, at least the main database file, calls/s and p99
    assert len(polylines) >= 4
    for line in polylines:
        assert len(line.attrib["points"].split()) >= 3
