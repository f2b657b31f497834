import json

import pytest

from kvbench.workers import asgi_loop


def report(capsys) -> dict:
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])["asgi_loop"]


def test_drives_the_measured_requests_and_reports_them(capsys):
    assert asgi_loop.main(["--app", "optimized.app:app", "--requests", "30", "--warmup", "5"]) == 0
    assert report(capsys)["requests"] == 30


def test_min_seconds_repeats_whole_batches(capsys):
    argv = ["--app", "optimized.app:app", "--requests", "10", "--warmup", "0"]
    asgi_loop.main([*argv, "--min-seconds", "0.05"])
    done = report(capsys)
    assert done["requests"] % 10 == 0 and done["seconds"] >= 0.05


def test_a_wrong_answer_stops_the_loop():
    argv = ["--app", "optimized.app:app", "--requests", "3", "--warmup", "0", "--key", "nope"]
    with pytest.raises(SystemExit, match="unexpected answer 404"):
        asgi_loop.main(argv)
