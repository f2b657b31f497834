"""Small network facts every process needs: loopback checks, URL hosts, the event loop."""

import asyncio
import ipaddress
import signal


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def url_host(host: str) -> str:
    """An IPv6 address in brackets, as URLs and Host headers write it."""
    return f"[{host}]" if ":" in host else host


def stopped_by_signals() -> asyncio.Future:
    """A future of the running loop that SIGINT or SIGTERM resolves: how our servers stop."""
    loop = asyncio.get_running_loop()
    stopped = loop.create_future()

    def stop() -> None:
        if not stopped.done():
            stopped.set_result(None)

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop)
    return stopped


def new_loop() -> asyncio.AbstractEventLoop:
    """A uvloop event loop where uvloop is installed, else asyncio's."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()
