# Read by gunicorn when started from the project folder (`gunicorn app:app …`).
# The access log escapes control characters, so a %0a in a URL cannot forge a line.
logger_class = "crm.access_log.SafeAccessLogger"
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms'
