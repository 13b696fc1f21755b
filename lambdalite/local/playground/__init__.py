"""The browser playground of ``start-api --playground`` (and ``lambdalite playground``): a page
served on 127.0.0.1 (``static/``: plain HTML, CSS and JavaScript, no build step, nothing from
a CDN) whose calls go through the real API Gateway or Function URL front, with each call's
REPORT figures (``server.py``)."""
