"""`kvbench loadgen`: put HTTP load on a loopback server and print what came back."""

import argparse
import json
import os
import sys
from pathlib import Path

from kvbench import KvbenchError, UsageError
from kvbench.load.config import LoadConfig
from kvbench.load.engine import run_load
from kvbench.load.requests import Expect, RequestSpec, load_requests
from kvbench.load.workload import Probe, key_workload, spec_probes
from kvbench.processes import pin


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="target address (loopback only)")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--duration", type=float, default=5.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=1.0, help="unrecorded seconds before")
    parser.add_argument("--max-requests", type=int, help="stop after this many measured ones")
    parser.add_argument("--mode", choices=["closed", "open"], default="closed")
    parser.add_argument("--rate", type=float, help="offered requests/s (open loop)")
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds before a request fails")
    parser.add_argument(
        "--path", action="append", help="send this path instead of the preloaded keys (repeatable)"
    )
    parser.add_argument("--method", default="GET", help="the method of --path's requests")
    parser.add_argument("--body", default="", help="the request body of --path's requests")
    parser.add_argument(
        "--header", action="append", default=[], metavar="'Name: value'", help="(repeatable)"
    )
    parser.add_argument("--status", type=int, default=200, help="expected status for --path")
    parser.add_argument("--expect-body", help="the exact body expected for --path")
    parser.add_argument("--content-type", help="the content-type expected for --path")
    parser.add_argument(
        "--requests", type=Path, metavar="FILE.toml", help="send these requests, checked as asked"
    )
    parser.add_argument("--keys", type=int, default=1000, help="cycle over key-0000 ... keys-1")
    parser.add_argument("--cpu", type=int, action="append", help="pin the load generator here")
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    parser.add_argument("--save-latencies", metavar="FILE.npy", help="save the raw latencies (ns)")


def run(args: argparse.Namespace) -> int:
    config = LoadConfig(
        host=args.host,
        port=args.port,
        connections=args.connections,
        duration_s=args.duration,
        warmup_s=args.warmup,
        max_requests=args.max_requests,
        mode=args.mode,
        rate=args.rate,
        timeout_s=args.timeout,
    )
    config.validate()
    try:
        pin(os.getpid(), set(args.cpu or []))
    except OSError as exc:
        raise KvbenchError(f"cannot pin to CPUs {args.cpu}: {exc.strerror}") from None
    probes = chosen_probes(args)
    if sys.stderr.isatty():
        print(
            f"loading {args.host}:{args.port}: {args.warmup:g} s warm-up, "
            f"{args.duration:g} s measured",
            file=sys.stderr,
        )
    result = run_load(config, probes)
    if args.save_latencies:
        result.save_latencies(args.save_latencies)
    summary = result.summary()
    summary.check()  # a window with wrong answers fails with them, and prints no throughput
    print(json.dumps(summary.to_dict()) if args.json else summary.text(), flush=True)
    return 0


def chosen_probes(args: argparse.Namespace) -> list[Probe]:
    """The request file's, the --path requests, or the GETs of the preloaded keys."""
    if args.requests and args.path:
        raise UsageError("give --requests or --path, not both")
    if args.requests:
        return spec_probes(args.host, args.port, load_requests(args.requests))
    if args.path:
        return spec_probes(args.host, args.port, [path_spec(args, path) for path in args.path])
    return key_workload(args.host, args.port, args.keys)


def path_spec(args: argparse.Namespace, path: str) -> RequestSpec:
    headers = []
    for header in args.header:
        name, colon, value = header.partition(":")
        if not colon or not name.strip():
            raise UsageError(f"--header takes 'Name: value', not {header!r}")
        headers.append((name.strip(), value.strip()))
    if not path.startswith("/"):
        raise UsageError(f"--path must start with '/', not {path!r}")
    kind = (("content-type", args.content_type),) if args.content_type else ()
    body = args.expect_body.encode() if args.expect_body is not None else None
    method = args.method.upper()
    return RequestSpec(
        f"{method} {path}", method, path, tuple(headers), args.body.encode(),
        Expect(args.status, body, headers=kind),
    )  # fmt: skip
