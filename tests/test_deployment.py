"""What can be checked of the container setup without a Docker engine."""
import re
from pathlib import Path

import yaml

import config

ROOT = Path(__file__).resolve().parent.parent


def test_compose_services_use_settings_the_app_reads():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"db", "redis", "web", "worker"} <= set(services)
    config_source = (ROOT / "config.py").read_text()
    for name in ("web", "worker"):
        environment = services[name]["environment"]
        assert environment["OPTISERVE_ENV"] == "production"
        for variable in ("SECRET_KEY", "DATABASE_URL", "REDIS_URL", "STORAGE_URL", "MAIL_URL"):
            assert variable in environment
            assert f'"{variable}"' in config_source, f"config.py does not read {variable}"
    assert services["worker"]["command"][-2:] == ["optiserve", "worker"]


def test_dockerfile_runs_the_wsgi_application_as_non_root():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11", dockerfile, re.MULTILINE)
    assert "USER optiserve" in dockerfile
    assert "app.wsgi:application" in dockerfile
    assert (ROOT / "app" / "wsgi.py").exists()
    assert config.Config.FAB_CREATE_DB is False
