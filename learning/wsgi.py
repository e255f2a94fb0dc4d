"""The WSGI entry point for gunicorn (``learning.wsgi:app``); configured by LEARNING_* variables."""
from learning import create_app

app = create_app()
