"""The soak's facts that read its per-second series: a one-second step, the sender held up."""

import csv
import json
from pathlib import Path

from kvbench.docgen.generate import value
from kvbench.docgen.sources import Sources
from kvbench.soak.checks import p99_trend
from kvbench.soak.verdict import calm_minutes


def committed_soak(tmp_path: Path) -> Sources:
    """A soak whose Redis RSS steps +0.5 MB at 200 s (threads 5 to 6), flat either side, and
    whose own process read its processes 0.6 s late once, at 250 s."""
    folder = tmp_path / "soak"
    folder.mkdir()
    checks = {"redis_rss_mb_flat": {"ok": False, "fitted_from_s": 20.0}}
    soak = {"load": {"load_s": 1799, "offered_rps": 13319.4}}
    (folder / "summary.json").write_text(json.dumps({"schema": 3, "soak": soak, "checks": checks}))
    with open(folder / "series.csv", "w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["t_s", "sampled_s", "redis_pid", "redis_rss_mb", "redis_threads"])
        for t in range(1, 301):
            late = 0.6 if t == 250 else 0.001
            stepped = t >= 200
            writer.writerow([t, t + late, 7, 13.0 + 0.5 * stepped, 5 + stepped])
    return Sources(tmp_path, tmp_path)


def test_the_soaks_own_process_held_up_is_counted_from_its_late_samples(tmp_path):
    said = value("soak_held()", committed_soak(tmp_path))
    assert said == "1 time over 0.25 s, up to 0.60 s (at 250 s)"


def test_a_count_reads_as_a_whole_number_and_a_rate_to_three_digits(tmp_path):
    sources = committed_soak(tmp_path)
    assert value('soak_figure("soak.load.load_s")', sources) == "1,799"
    assert value('soak_figure("soak.load.offered_rps")', sources) == "13,300"


def test_the_p99_trend_is_the_checks_own_fit_of_the_calm_half(tmp_path):
    # The check fits the calm half's minutes (soak/verdict.calm_minutes): a warm-up minute
    # at 50 ms, then a rise of 1 ms a minute (60 ms an hour) from minute 1 on.
    minutes = [(0, 50.0)] + [(m, 10.0 + m) for m in range(1, 6)]
    trend = p99_trend(calm_minutes(minutes, fit_from=20.0), set())
    sources = committed_soak(tmp_path)
    path = tmp_path / "soak" / "summary.json"
    summary = json.loads(path.read_text())
    summary["checks"]["p99_per_minute_not_rising"] = trend
    path.write_text(json.dumps(summary))
    assert value("soak_p99_calm()", sources) == "60 to 60 ms an hour over its 5 minutes (bound 1.3)"


def test_where_redis_became_warm_is_said_with_what_the_rows_before_it_added(tmp_path):
    sources = committed_soak(tmp_path)
    path = tmp_path / "soak" / "summary.json"
    data = json.loads(path.read_text())
    data["checks"]["redis_rss_mb_flat"] |= {
        "level": 13.0, "warm_from_s": {"7": 200.0}, "warm_forgiven": {"7": 0.5}
    }  # fmt: skip
    path.write_text(json.dumps(data))
    assert value("soak_warm()", sources) == (
        "1 of 1 Redis lives rewrote their AOF; the last first at 200 s, the rows before it "
        "adding 0.50 MB (bound 0.52)"
    )
