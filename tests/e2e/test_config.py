"""Settings as an operator gives them: environment variables, a TOML file and flags (flag >
environment > file), BootNotification status/interval, unknown-token policy, token limits."""

from __future__ import annotations

import datetime

from .conftest import ServerFactory
from .support import API_KEY, Api, boot_raw, now_iso, raw_station, unique

TOML_KEY = "key-from-the-toml-file-0123456789"


async def test_environment_toml_and_flag_precedence(server_factory: ServerFactory) -> None:
    config = server_factory.base_dir / f"{unique('kilowatt')}.toml"
    config.write_text(
        f'api_key = "{TOML_KEY}"\n'
        "heartbeat_interval = 42\n"
        'boot_status = "Rejected"\n'
        "accept_unknown_id_tokens = true\n"
    )
    server = server_factory.start(
        "--boot-status",
        "Pending",
        flags=False,  # host, ports, data dir, database URL from KILOWATT_* variables
        api_key_flag=False,
        env={"KILOWATT_CONFIG": str(config), "KILOWATT_HEARTBEAT_INTERVAL": "77"},
    )
    async with Api(server.api_url, TOML_KEY) as api:
        await api.json("GET", "/stations")
        identity = unique("CFG")
        async with raw_station(server, identity) as st:
            answer = await st.result(
                "BootNotification", {"chargePointVendor": "V", "chargePointModel": "M"}
            )
            # flag beats the file; environment beats the file
            assert answer["status"] == "Pending" and answer["interval"] == 77, answer
            # accept_unknown_id_tokens from the file
            auth = await st.result("Authorize", {"idTag": unique("ANY")})
            assert auth["idTagInfo"]["status"] == "Accepted", auth
        station = await api.station(identity)
        assert station["boot_status"] == "Pending"


async def test_token_status_expiry_and_concurrency_limit(
    server_factory: ServerFactory,
) -> None:
    server = server_factory.start()
    async with Api(server.api_url, API_KEY) as api:
        expired, limited, group = unique("EXP"), unique("LIM"), unique("GRP")
        past = (datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=1)).isoformat()
        await api.put_token(expired, expiry=past)
        await api.put_token(limited, max_concurrent_transactions=1, group_id=group)
        page = await api.json("GET", "/id-tokens", params={"limit": 10, "offset": 0})
        assert page["total"] >= 2 and {expired, limited} <= {t["id_token"] for t in page["items"]}

        async with raw_station(server, unique("TOK")) as st:
            await boot_raw(st, "ocpp1.6")
            auth = await st.result("Authorize", {"idTag": expired})
            assert auth["idTagInfo"]["status"] == "Expired", auth
            auth = await st.result("Authorize", {"idTag": limited})
            assert auth["idTagInfo"]["status"] == "Accepted", auth
            assert auth["idTagInfo"].get("parentIdTag") == group, auth

            first = await st.result(
                "StartTransaction",
                {"connectorId": 1, "idTag": limited, "meterStart": 0, "timestamp": now_iso()},
            )
            assert first["idTagInfo"]["status"] == "Accepted"
            second = await st.result(
                "StartTransaction",
                {"connectorId": 2, "idTag": limited, "meterStart": 0, "timestamp": now_iso()},
            )
            assert second["idTagInfo"]["status"] == "ConcurrentTx", second
            assert second["transactionId"] != first["transactionId"]
            # Unknown tokens are rejected by default.
            auth = await st.result("Authorize", {"idTag": unique("UNK")})
            assert auth["idTagInfo"]["status"] == "Invalid", auth
