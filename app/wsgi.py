"""WSGI entry point for gunicorn: ``gunicorn app.wsgi:application``.

Each worker warms itself up in the background after it starts (app/warmup.py): the first
user's screen after a deploy is then as fast as the next ones."""
from app import create_app
from app.warmup import start_warm_up

application = create_app()
start_warm_up(application)
