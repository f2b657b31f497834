"""Peers of the two services for `make bench-peers`: the same GET contract, other stacks.

- `bare_asgi`: no framework, the optimized store and bytes (the framework floor);
- `fastapi_app`: the service as FastAPI's tutorial teaches it;
- `raw_protocol`: an asyncio Protocol on uvloop with httptools, no ASGI (the Python ceiling).
"""
