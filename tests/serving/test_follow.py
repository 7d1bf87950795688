"""The champion follower's decisions: swap on a move, keep serving on a failed load, alert once."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from serving import follow
from serving.follow import ChampionFollower


@pytest.fixture
def follower(settings, monkeypatch):
    alerts: list = []
    where = {"champion": "1"}
    loads = {"2": RuntimeError("artifact missing: model.cb"),
             "3": SimpleNamespace(name="m", version="3", features=["a", "b"]),
             "4": SimpleNamespace(name="m", version="4", features=["a", "zz"])}

    def load(settings, version):
        model = loads[version]
        if isinstance(model, Exception):
            raise model
        return model

    def check(model):
        if "zz" in model.features:
            raise RuntimeError("m v4 needs features the online store does not serve: ['zz']")

    monkeypatch.setattr(follow.ChampionModel, "load", staticmethod(load))
    f = ChampionFollower(settings, SimpleNamespace(name="m", version="1", features=["a"]),
                         check=check, alert=alerts.append, interval=3600)
    monkeypatch.setattr(f, "champion_version", lambda: where["champion"])
    return f, where, alerts


def test_nothing_happens_while_the_alias_stays(follower):
    f, _, alerts = follower
    assert f.check_once() is None and f.current.version == "1" and alerts == []


def test_a_version_that_fails_to_load_keeps_the_old_one_and_alerts_once(follower):
    f, where, alerts = follower
    where["champion"] = "2"
    assert f.check_once() is None and f.current.version == "1"
    (alert,) = alerts
    assert alert.kind == "load_failure" and alert.severity == "error"
    assert alert.title == "m v2 is @champion but cannot be served"
    assert alert.fields == {"model": "m", "champion_version": "2", "serving_version": "1",
                            "error": "artifact missing: model.cb"}
    assert f.check_once() is None and len(alerts) == 1  # not retried while the alias stays
    where["champion"] = "3"  # the alias moves on to a good version
    assert f.check_once() == "3" and f.current.version == "3" and len(alerts) == 1


def test_a_version_whose_features_are_not_served_is_refused(follower):
    f, where, alerts = follower
    where["champion"] = "4"
    assert f.check_once() is None and f.current.version == "1"
    assert "does not serve: ['zz']" in alerts[0].fields["error"]
