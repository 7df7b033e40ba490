# OptiServe image: one image, two commands (web, worker). Production settings come from the
# environment (ECS task definition / Secrets Manager): OPTISERVE_ENV=production, SECRET_KEY,
# TOTP_ENCRYPTION_KEY, DATABASE_URL, REDIS_URL, STORAGE_URL=s3://…, MAIL_URL, TRUSTED_PROXY_COUNT=1 behind an ALB.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    OPTISERVE_INSTANCE_DIR=/var/lib/optiserve MPLBACKEND=Agg
WORKDIR /srv/optiserve

COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

COPY . .
RUN useradd --system --uid 10001 optiserve \
    && mkdir -p /var/lib/optiserve && chown optiserve /var/lib/optiserve \
    && python -c "from app.i18n import compile_catalogs; compile_catalogs()"
USER optiserve

EXPOSE 8000
HEALTHCHECK CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health')"
# Migrations run as a one-off task before a deployment: `flask --app app db upgrade`.
CMD ["gunicorn", "--bind", "0.0.0.0:8000", "--workers", "2", "--threads", "4", "--timeout", "120", "app.wsgi:application"]
