"""gunicorn configuration for healing-survey (``gunicorn -c docs/deploy/gunicorn.conf.py``).

Sync workers, sized for a small server; the access log masks survey tokens, and workers die
with their master (``survey.deploy``). Run it under the systemd unit beside this file (or any
supervisor that restarts the service and kills its whole process group). Settings can be
overridden on the command line or with ``GUNICORN_CMD_ARGS``.
"""

import os

from survey.deploy import TokenMaskingLogger, die_with_master

wsgi_app = "survey:create_app()"
bind = os.environ.get("HEALING_SURVEY_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("HEALING_SURVEY_WORKERS", "4"))
worker_class = "sync"
# Build the app once in the master and fork the workers from it: a worker (re)starts in
# milliseconds instead of importing NumPy, SciPy and pandas again. Building the app opens no
# database connection, so the workers share none.
preload_app = True
# A request that takes longer than this is killed and logged (exports stream well within it).
timeout = 60
graceful_timeout = 20
keepalive = 2
# Recycle workers now and then, so that a slow leak cannot grow without bound.
max_requests = 2000
max_requests_jitter = 200

accesslog = "-"
errorlog = "-"
logger_class = TokenMaskingLogger
# Behind a reverse proxy on the same host that ends TLS.
forwarded_allow_ips = "127.0.0.1"

post_fork = die_with_master
# gunicorn's control socket (in the home directory, one path for every instance) is not used.
control_socket_disable = True
