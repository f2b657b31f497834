import pytest

from kvbench.results.metrics import METRICS, Metric, metric


def test_figures_that_repeat_another_or_read_back_a_setting_are_diagnostics():
    # The closed-loop p99 with every connection busy is throughput again (Little's law);
    # the answered rate is the offered rate; neither is a result to judge.
    for name in ("http_closed_p99_ms", "http_open_answered_rate", "http_achieved_rate"):
        assert metric(name).diagnostic, name
    for name in ("http_closed_p99_ms", "http_open_answered_rate"):  # and say why
        assert metric(name).description, name
    assert not metric("http_tps").diagnostic and not metric("http_service_p99_ms").diagnostic


def test_a_metrics_flags_are_named_never_positional():
    with pytest.raises(TypeError):
        Metric("x_ms", "ms", "lower", "x", True)  # type: ignore[misc]
    assert Metric("x_ms", "ms", "lower", "x", diagnostic=True).diagnostic
    assert not any(m.diagnostic and m.exact for m in METRICS.values())
