#!/usr/bin/env bash
# The commands of docs/10-your-own-app.md with tiny settings, for tests/docs/test_commands.py:
# the same commands, in a copy of examples/myapp, so nothing is written into the checkout.
set -eo pipefail
root=$(pwd)
kvbench="$root/.venv/bin/kvbench"
tiny=(--quick --trials 2 --duration 1 --warmup 0.2 --latency-window 1 --layers asgi,http)
# `two` and `runs` are about the comparisons: no open loop (nor the 10 s latency floor that
# comes with it), and `runs` the HTTP layer only. The chapter's one command, latency
# included, is tests/docs/own-project.sh's; a comparison with latency is the README's
# `make compare`, in tests/docs/test_commands.py's tiny run.
compared=(--latency-window 0)
work=$(mktemp -d)
server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"' EXIT
cp -r "$root/examples/myapp/." "$work/"
cd "$work"
case "$1" in
two)
    cp app.py app_v2.py
    "$kvbench" bench --app v1=app:app --app v2=app_v2:app --requests requests.toml "${tiny[@]}" \
        "${compared[@]}" --out "$work/two"
    "$kvbench" compare "$work/two" --old v1 --new v2 ;;
runs)
    for when in before after; do
        "$kvbench" bench --app myapp=app:app --requests requests.toml "${tiny[@]}" \
            "${compared[@]}" --layers http --out "$work/$when"
    done
    "$kvbench" compare "$work/before" "$work/after" ;;
load)
    port=$("$root/.venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    "$root/.venv/bin/uvicorn" app:app --port "$port" --log-level warning &
    server=$!
    "$root/.venv/bin/python" -c 'import socket, sys, time
for _ in range(100):
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.1).close(); break
    except OSError:
        time.sleep(0.1)' "$port"
    "$kvbench" loadgen --port "$port" --requests requests.toml --duration 0.5 --warmup 0.2
    "$kvbench" loadgen --port "$port" --path /items/7 --path /items/8 --duration 0.5 --warmup 0.2 ;;
*)
    echo "usage: own-app.sh two|runs|load" >&2; exit 2 ;;
esac
