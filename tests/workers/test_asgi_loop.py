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


def test_a_wrong_answer_stops_the_loop(capsys):
    argv = ["--app", "optimized.app:app", "--requests", "3", "--warmup", "0", "--key", "nope"]
    with pytest.raises(SystemExit):
        asgi_loop.main(argv)
    assert "error: GET /get?key=nope: status 404 expected 200" in capsys.readouterr().err


def test_a_request_file_drives_the_loop(tmp_path, capsys):
    requests = tmp_path / "r.toml"
    requests.write_text('[[request]]\npath = "/get?key=key-0001"\n[request.expect]\nstatus = 200\n')
    argv = ["--app", "optimized.app:app", "--requests", "20", "--warmup", "0"]
    assert asgi_loop.main([*argv, "--request-file", str(requests)]) == 0
    assert report(capsys)["requests"] == 20
