"""The hostile-clients table: what each served configuration did with slow and big clients."""

from kvbench.report.formatting import number, plain, quantity

PROBES = ("slow head", "slow body", "idle")


def table(summary: dict) -> str:
    """One row per configuration: connections still held after the wait, a GET meanwhile,
    and the peak RSS of four oversized PUTs, from `kvbench hostile`'s summary."""
    settings = summary["settings"]
    wait, clients, mb = settings["wait_s"], settings["big_clients"], settings["big_mb"]
    heads = [f"{probe}: still open after {plain(wait)} s | GET meanwhile" for probe in PROBES]
    lines = [
        f"| configuration | {' | '.join(heads)} | {clients} x {mb} MB PUTs: answers, peak RSS |",
        "| --- " * (2 + 2 * len(PROBES)) + "|",
    ]
    for found in summary["configurations"]:
        cells = [f"`{found['name']}`"]
        for probe in PROBES:
            held = found["probes"][probe]
            cells.append(f"{held['still_open']:,} of {held['opened']:,}")
            cells.append(_get(held))
        big = found["big_bodies"]
        statuses = ", ".join(map(str, big["statuses"]))
        peak = f"{number(big['peak_rss_before'] / 1e6)} -> {number(big['peak_rss'] / 1e6)} MB"
        cells.append(f"{statuses}; {peak}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _get(held: dict) -> str:
    if not held["get_status"]:
        return "no answer in 5 s"
    return f"{held['get_status']} in {quantity(held['get_ms'], 'ms')}"
