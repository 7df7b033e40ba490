import os
import stat
import subprocess
import sys
from pathlib import Path

import config

ROOT = Path(__file__).resolve().parent.parent


def test_secret_key_is_generated_once_with_mode_0600(tmp_path):
    path = tmp_path / "secret_key"
    first = config.persisted_secret_key(path)
    assert len(first) >= 40
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert config.persisted_secret_key(path) == first


def run_app_in_production(tmp_path, **env):
    environment = {k: v for k, v in os.environ.items()
                   if k not in ("SECRET_KEY", "DATABASE_URL", "TOTP_ENCRYPTION_KEY")}
    environment.update(OPTISERVE_ENV="production", OPTISERVE_INSTANCE_DIR=str(tmp_path), **env)
    return subprocess.run(
        [sys.executable, "-c", "from app import create_app; create_app()"],
        cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60,
    )


def test_production_refuses_to_start_without_secret_key(tmp_path):
    result = run_app_in_production(tmp_path, DATABASE_URL="sqlite:///x.db")
    assert result.returncode != 0
    assert "OPTISERVE_ENV=production requires SECRET_KEY" in result.stderr


def test_production_refuses_to_start_without_database_url(tmp_path):
    result = run_app_in_production(tmp_path, SECRET_KEY="s" * 40)
    assert result.returncode != 0
    assert "requires DATABASE_URL" in result.stderr


def test_production_refuses_to_start_without_totp_encryption_key(tmp_path):
    result = run_app_in_production(tmp_path, SECRET_KEY="s" * 40, DATABASE_URL="sqlite:///x.db")
    assert result.returncode != 0
    assert "requires TOTP_ENCRYPTION_KEY" in result.stderr


def test_env_helpers_read_typed_values(monkeypatch):
    monkeypatch.setenv("X_INT", "42")
    monkeypatch.setenv("X_BOOL", "yes")
    assert config.env_int("X_INT", 1) == 42
    assert config.env_bool("X_BOOL", False) is True
    assert config.env_int("X_MISSING", 7) == 7
