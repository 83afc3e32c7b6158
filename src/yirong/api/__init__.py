"""The HTTP API (FastAPI): shared plumbing. Each capability's routes live in its own
folder (``wallets/views.py``, ``loans/views.py``...) and call its service functions."""
