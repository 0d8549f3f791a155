"""gunicorn settings for `make run` and production (`gunicorn -c gunicorn.conf.py carsales.wsgi`).

Every value can be overridden from the environment; docs/deployment.md lists them.
"""

import os
import re
import tempfile

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# One control socket per instance, named after its address: gunicorn's default is one path for
# every instance of a user, so stopping one deleted the socket of another.
_instance = re.sub(r"[^\w.-]", "_", bind)
control_socket = os.environ.get(
    "GUNICORN_CONTROL_SOCKET", os.path.join(tempfile.gettempdir(), f"gunicorn-{_instance}.ctl")
)
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# A request still running after this is killed and its worker replaced: a stuck request must not
# hold a worker forever. A restart lets running requests finish for graceful_timeout seconds.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
keepalive = 5
# Bounds on what a client may send before Django sees anything (gunicorn's maxima, made explicit).
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190
# gunicorn sets the request's scheme from X-Forwarded-Proto only when it comes from these, the
# same proxies carsales.core.security believes; none by default (no proxy in front).
forwarded_allow_ips = os.environ.get("TRUSTED_PROXIES", "")
accesslog = "-"
