"""`kvbench loadgen`: put HTTP load on a loopback server and print what came back."""

import argparse
import json
import os
import sys

from kvbench import KvbenchError
from kvbench.load.config import LoadConfig
from kvbench.load.engine import run_load
from kvbench.load.workload import key_workload, path_probe
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
    parser.add_argument("--path", help="GET only this path instead of the preloaded keys")
    parser.add_argument("--status", type=int, default=200, help="expected status for --path")
    parser.add_argument("--body", default="", help="the exact body expected for --path")
    parser.add_argument(
        "--content-type", default="application/json", help="the content-type expected for --path"
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
    if args.path:
        body, kind = args.body.encode(), args.content_type.encode()
        probes = [path_probe(args.host, args.port, args.path, args.status, body, kind)]
    else:
        probes = key_workload(args.host, args.port, args.keys)
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
    print(json.dumps(summary.to_dict()) if args.json else summary.text(), flush=True)
    summary.check()
    return 0
