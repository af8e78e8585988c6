"""Gunicorn's access log, safe to read line by line: nothing a client sends can start a line.

Gunicorn writes the decoded path (`%(U)s`), so `/x%0a127.0.0.1 "GET /admin" 200` in a URL
used to write a forged second line. Every text field of a log line has its control characters
(CR, LF, tab, escape…) and Unicode line breaks written as `\\xNN` escapes instead.

Used by `make run` and by a production `gunicorn app:app` started from the project folder
(gunicorn.conf.py names this class).
"""

import re

from gunicorn.glogging import Logger

# C0 and C1 controls, DEL, and the Unicode line and paragraph separators.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# The path only: query strings may carry customer names.
ACCESS_LOG_FORMAT = '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms'


def escape_controls(value: str) -> str:
    return _UNSAFE.sub(lambda match: f"\\x{ord(match.group()):02x}"
                       if ord(match.group()) < 0x100 else f"\\u{ord(match.group()):04x}", value)


class SafeAccessLogger(Logger):
    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        for key, value in atoms.items():
            if isinstance(value, str):
                atoms[key] = escape_controls(value)
        return atoms
