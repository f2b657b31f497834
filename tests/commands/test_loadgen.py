import json

import pytest

from kvbench import cli
from kvbench.load.canned import serve_in_thread
from kvbench.load.workload import key_body

WINDOW = ["--duration", "0.3", "--warmup", "0", "--connections", "2"]


@pytest.fixture
def main(monkeypatch):
    monkeypatch.setattr(cli, "COMMANDS", {"loadgen": cli.COMMANDS["loadgen"]})
    return cli.main


def test_several_paths_each_checked(main, capsys):
    paths = ["--path", "/get?key=key-0001", "--path", "/get?key=key-0002"]
    with serve_in_thread() as port:
        code = main(["loadgen", "--port", str(port), *WINDOW, *paths, "--json"])
    summary = json.loads(capsys.readouterr().out)
    assert code == 0 and summary["errors"] == 0 and summary["requests"] > 0


def test_a_wrong_expected_body_fails_before_any_throughput_is_printed(main, capsys):
    args = ["--path", "/get?key=key-0001", "--expect-body", key_body("key-0002").decode()]
    with serve_in_thread() as port:
        code = main(["loadgen", "--port", str(port), *WINDOW, *args])
    captured = capsys.readouterr()
    assert code == 1 and captured.out == ""
    assert "GET /get?key=key-0001: body" in captured.err


def test_a_request_file_drives_the_load(main, capsys, tmp_path):
    path = tmp_path / "requests.toml"
    body = key_body("key-0003").decode()
    request = '[[request]]\npath = "/get?key=key-0003"\n'
    path.write_text(f"{request}[request.expect]\nstatus = 200\nbody = '{body}'\n")
    with serve_in_thread() as port:
        code = main(["loadgen", "--port", str(port), *WINDOW, "--requests", str(path), "--json"])
    assert code == 0 and json.loads(capsys.readouterr().out)["errors"] == 0


def test_a_bad_header_is_refused(main, capsys):
    code = main(["loadgen", "--port", "1", *WINDOW, "--path", "/", "--header", "no colon"])
    assert code == 2 and "--header takes 'Name: value'" in capsys.readouterr().err
