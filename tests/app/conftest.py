"""Helpers for the composition-root tests (nodes on free ports with a temp data dir)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from kilowatt.config import Settings

API_KEY = "test-api-key-0123456789"


def node_settings(tmp_path: Path, database_url: str, **overrides: Any) -> Settings:
    """Settings for an in-process node: loopback, ports chosen by the OS, temp data dir."""
    values: dict[str, Any] = {
        "host": "127.0.0.1",
        "ocpp_port": 0,
        "http_port": 0,
        "data_dir": tmp_path / "data",
        "database_url": database_url,
        "api_key": API_KEY,
    }
    values.update(overrides)
    return Settings(**values)


async def settled(check: Callable[[], Awaitable[bool]], *, rounds: int = 1000) -> bool:
    """Poll ``check`` until true, yielding to the loop between tries."""
    for _ in range(rounds):
        if await check():
            return True
        await asyncio.sleep(0.005)
    return await check()
