import asyncio
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.responses import StreamingResponse
from starlette.routing import Route

from kvbench.load.requests import (
    Expect,
    RequestFileError,
    RequestSpec,
    load_requests,
    service_requests,
)
from kvbench.workers.inprocess import WrongAnswer, call, checked_call, load_app

EXAMPLE = Path(__file__).parents[2] / "examples" / "myapp"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "requests.toml"
    path.write_text(text)
    return path


def test_the_issue_form_reads(tmp_path):
    text = '[[request]]\nmethod = "GET"\npath = "/items/7"\n[request.expect]\nstatus = 200\n'
    text += 'body = \'{"id":7,"name":"item 7"}\'\n'
    spec = load_requests(write(tmp_path, text))[0]
    expect = Expect(200, b'{"id":7,"name":"item 7"}')
    assert spec == RequestSpec("GET /items/7", "GET", "/items/7", expect=expect)


def test_missing_status_is_named(tmp_path):
    path = write(tmp_path, '[[request]]\npath = "/x"\n[request.expect]\nbody = "a"\n')
    with pytest.raises(RequestFileError, match=r"request 1 \(GET /x\): expect.status"):
        load_requests(path)


def test_missing_expect_is_named(tmp_path):
    with pytest.raises(RequestFileError, match=r"missing \[request.expect\]"):
        load_requests(write(tmp_path, '[[request]]\npath = "/x"\n'))


def test_bad_toml_is_named(tmp_path):
    with pytest.raises(RequestFileError, match="not valid TOML"):
        load_requests(write(tmp_path, "[[request]\npath = "))


def test_unknown_key_is_named(tmp_path):
    text = '[[request]]\npath = "/x"\nmethd = "GET"\n[request.expect]\nstatus = 200\n'
    path = write(tmp_path, text)
    with pytest.raises(RequestFileError, match="unknown key 'methd'"):
        load_requests(path)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(RequestFileError, match="cannot read"):
        load_requests(tmp_path / "nope.toml")


def test_raw_request_has_body_and_headers():
    spec = RequestSpec("p", "POST", "/a?b=1", (("X-Token", "t"),), b"hi")
    assert spec.raw("127.0.0.1", 8000) == (
        b"POST /a?b=1 HTTP/1.1\r\nHost: 127.0.0.1:8000\r\nX-Token: t\r\nContent-Length: 2\r\n\r\nhi"
    )
    scope = spec.scope()
    assert (scope["path"], scope["query_string"]) == ("/a", b"b=1")
    assert (b"x-token", b"t") in scope["headers"]


def test_check_names_the_first_difference():
    spec = RequestSpec("GET /i", "GET", "/i", expect=Expect(200, b"ok", headers=(("x-a", "1"),)))
    assert spec.check(200, [(b"x-a", b"1")], b"ok") is None
    assert "status 404 expected 200" in spec.check(404, [], b"ok")
    assert "body b'no' expected b'ok'" in spec.check(200, [], b"no")
    assert "header x-a None expected '1'" in spec.check(200, [], b"ok")


def test_json_subset():
    spec = RequestSpec("j", "GET", "/j", expect=Expect(200, json={"id": 7, "tags": [1]}))
    assert spec.check(200, [], b'{"id":7,"tags":[1],"name":"x"}') is None
    assert "does not contain" in spec.check(200, [], b'{"id":8,"tags":[1]}')
    assert "does not contain" in spec.check(200, [], b'{"id":true,"tags":[1]}')
    assert "not JSON" in spec.check(200, [], b"<html>")


def test_example_app_answers_its_request_file(monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLE))
    app = load_app("app:app")
    for spec in load_requests(EXAMPLE / "requests.toml"):
        checked_call(app, spec)


def test_wrong_answer_raises_with_the_mismatch(monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLE))
    spec = RequestSpec("GET /items/7", "GET", "/items/7", expect=Expect(200, b"{}"))
    with pytest.raises(WrongAnswer, match=r"GET /items/7: body b'\{\"id\":7"):
        checked_call(load_app("app:app"), spec)


def test_streamed_body_is_joined():
    async def parts():
        yield b"a"
        yield b"b"

    app = Starlette(routes=[Route("/s", lambda request: StreamingResponse(parts()))])
    reply = asyncio.run(call(app, RequestSpec("s", "GET", "/s")))
    assert (reply.status, reply.body) == (200, b"ab")


def test_service_requests_pass_on_both_services():
    for target in ("optimized.app:app", "unoptimized.app:app"):
        app = load_app(target)
        with asyncio.Runner() as runner:
            for spec in service_requests():
                checked_call(app, spec, runner)
