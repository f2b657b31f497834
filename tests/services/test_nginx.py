"""The nginx peer: its config, and a clear refusal where nginx is not installed."""

import json

from kvbench.services import get_service
from peers import nginx


def test_config_answers_get_and_serves_debug_vars_on_the_admin_port():
    text = nginx.config("/p", "127.0.0.1", 8080, "127.0.0.1", 6060)
    assert "listen 127.0.0.1:8080 backlog=2048;" in text and "listen 127.0.0.1:6060;" in text
    assert """return 200 '{"key":"$arg_key","value":"test-value"}';""" in text
    assert "access_log off;" in text and "daemon off;" in text
    assert "pid /p/nginx.pid;" in text


def test_config_without_an_admin_port_has_one_server_and_brackets_ipv6():
    text = nginx.config("/p", "::1", 8080, "127.0.0.1", 0)
    assert text.count("server {") == 1
    assert "listen [::1]:8080 backlog=2048;" in text


def test_stub_debug_vars_has_what_a_trial_reads():
    stub = json.loads(nginx.DEBUG_VARS)
    assert stub["gc"]["since_last_read"] == {"collections": 0, "pause_max_ms": 0}
    assert stub["peak_rss_bytes"] == 0 and stub["measured"] is False


def test_main_refuses_without_nginx_or_off_loopback(monkeypatch, capsys):
    monkeypatch.setattr(nginx, "installed", lambda: None)
    assert nginx.main(["--port", "0"]) == 2
    assert "not installed" in capsys.readouterr().err
    assert nginx.main(["--host", "10.0.0.1"]) == 2
    assert "loopback only" in capsys.readouterr().err


def test_proxy_config_bounds_clients_and_keeps_upstream_connections():
    text = nginx.proxy_config("/p", "127.0.0.1", 8000, 9000, 10)
    for line in [
        "listen 127.0.0.1:8000 backlog=2048;",
        "server 127.0.0.1:9000;",
        "client_header_timeout 10s;",
        "client_body_timeout 10s;",
        "client_max_body_size 64k;",
        "keepalive 64;",
        'proxy_set_header Connection "";',
        'return 413 "value too large";',
    ]:
        assert line in text, line
    assert "listen" not in text.split("server {", 1)[0]  # no admin stub: the service has one


def test_a_service_behind_nginx_is_named_and_launched_by_the_proxy():
    service = get_service("optimized+nginx")
    assert service.command("127.0.0.1", 8000)[1:] == [
        "-m", "kvbench.proxy", "--host", "127.0.0.1", "--port", "8000", "--upstream", "optimized",
    ]  # fmt: skip
    assert get_service("async+nginx").server_args == ("--upstream", "async")
