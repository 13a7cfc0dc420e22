"""Pieces of the production deployment under gunicorn (``pip install healing-survey[deploy]``):
an access log that never shows a survey token, and workers that die with their master.

``docs/deploy/gunicorn.conf.py`` uses both; the systemd unit beside it restarts the service.
Imported only by gunicorn's configuration, never by the app.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal

from gunicorn.glogging import Logger

from survey.security import SurveyTokenFilter, mask_survey_tokens

_PR_SET_PDEATHSIG = 1


class TokenMaskingLogger(Logger):
    """gunicorn's logger with ``/s/<token>`` masked in every access-log field and error line."""

    def setup(self, cfg) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            if not any(isinstance(f, SurveyTokenFilter) for f in log.filters):
                log.addFilter(SurveyTokenFilter())

    def atoms(self, resp, req, environ, request_time) -> dict:
        atoms = super().atoms(resp, req, environ, request_time)
        return {
            key: mask_survey_tokens(value) if isinstance(value, str) else value
            for key, value in atoms.items()
        }


def die_with_master(server, worker) -> None:
    """gunicorn ``post_fork`` hook: the kernel kills this worker when its master dies.

    gunicorn's own check of the parent runs only between requests and waits, so after a
    ``kill -9`` of the master its workers kept the listening socket for seconds and a restarted
    master could not bind the port. With the parent-death signal they go at once.
    """
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:  # not Linux: rely on the supervisor killing the process group
        return
    libc = ctypes.CDLL(libc_name, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        server.log.warning("prctl(PR_SET_PDEATHSIG) failed: errno %s", ctypes.get_errno())
        return
    # The master may have died between the fork and the prctl call.
    if os.getppid() != worker.ppid:
        os._exit(1)
