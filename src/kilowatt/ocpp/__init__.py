"""Sans-I/O OCPP-J: frames, error codes, RPC state and typed messages for 1.6, 2.0.1, 2.1.

This package imports no asyncio, sockets or clock: time is passed in by the caller.
"""
