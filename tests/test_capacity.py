"""The deployment's settings (environment and st.secrets) and the cap on sessions."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.train import pool
from ui import capacity

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def test_settings_come_from_the_environment_and_a_bad_value_is_one_sentence(monkeypatch):
    monkeypatch.setenv("PLAYGROUND_TRAINERS", "3")
    monkeypatch.setenv("PLAYGROUND_MEMORY_MB", "2000")
    monkeypatch.setenv("PLAYGROUND_RAY_ADDRESS", " ray://head:10001 ")
    assert pool.settings() == pool.Settings(3, 2000, "ray://head:10001")
    for name, bad in (("PLAYGROUND_TRAINERS", "0"), ("PLAYGROUND_TRAINERS", "two"), ("PLAYGROUND_MEMORY_MB", "1e9")):
        monkeypatch.setenv(name, bad)
        with pytest.raises(ValueError, match=f"^{name} must be a whole number from .* got '{bad}'.$"):
            pool.settings()
        monkeypatch.delenv(name)
    assert pool.settings().trainers >= 1 and pool.settings().memory_mb == 1024


def test_secrets_become_settings_but_the_environment_wins(monkeypatch):
    monkeypatch.delenv("PLAYGROUND_TRAINERS", raising=False)
    monkeypatch.setenv("PLAYGROUND_MEMORY_MB", "512")
    monkeypatch.setattr(capacity.st, "secrets", {"PLAYGROUND_TRAINERS": 2, "PLAYGROUND_MEMORY_MB": 4096, "OTHER": 1})
    capacity.secrets_to_environment()
    assert os.environ["PLAYGROUND_TRAINERS"] == "2" and os.environ["PLAYGROUND_MEMORY_MB"] == "512"
    assert "OTHER" not in os.environ
    monkeypatch.delenv("PLAYGROUND_TRAINERS")


def test_a_session_past_the_cap_is_told_so_and_one_let_in_stays_in(monkeypatch):
    monkeypatch.setenv("PLAYGROUND_MAX_SESSIONS", "30")
    monkeypatch.setattr(capacity, "active_sessions", lambda: 31)
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert any("This server is full: 30 visitors" in w.value for w in at.warning)
    assert not at.exception and not at.title  # nothing else is drawn
    monkeypatch.setattr(capacity, "active_sessions", lambda: 30)
    at.run()
    assert not at.warning and at.session_state[capacity.ADMITTED]
    monkeypatch.setattr(capacity, "active_sessions", lambda: 80)
    at.run()
    assert not any("server is full" in w.value for w in at.warning)  # admitted once: stays in
