"""A fixed-window request limit per client address, counted in Redis (shared by every web
process). The address is hashed: Redis keeps no list of visitors."""

import hashlib
import time

from flask import current_app
from redis.exceptions import RedisError

from crm.queue import get_redis


def over_limit(address: str, *, scope: str = "survey") -> bool:
    limit = current_app.config.get("SURVEY_RATE_LIMIT", 30)
    window = current_app.config.get("SURVEY_RATE_WINDOW", 600)
    bucket = int(time.time() // window)
    digest = hashlib.sha256(f"{current_app.secret_key}:{address}".encode()).hexdigest()[:24]
    key = f"crm:rate:{scope}:{digest}:{bucket}"
    try:
        pipe = get_redis().pipeline()
        pipe.incr(key)
        pipe.expire(key, window)
        count = pipe.execute()[0]
    except RedisError:
        return False  # the survey stays open when Redis is away; the signature still guards it
    return count > limit
