"""A Celery 5 application whose broker is a Skep write port (kombu's Redis transport), for ClientLibrariesIT.

Each task records its id in the set `done` through the same write port, so the test can tell which tasks ran.
The broker address comes from SKEP_BROKER (redis://127.0.0.1:PORT/0).
"""
import os

import redis
from celery import Celery

BROKER = os.environ["SKEP_BROKER"]
app = Celery("skeptest", broker=BROKER)
app.conf.update(
    task_ignore_result=True,
    worker_prefetch_multiplier=1,
    broker_connection_retry_on_startup=True,
    # as a production worker: keep trying to reach the broker rather than exit
    broker_connection_max_retries=None,
    broker_transport_options={"visibility_timeout": 3600},
)
_results = None


def results():
    global _results
    if _results is None:
        _results = redis.Redis.from_url(BROKER, retry_on_timeout=True)
    return _results


@app.task(name="record", bind=True, autoretry_for=(redis.exceptions.ConnectionError,), retry_backoff=0.2,
          max_retries=20)
def record(self, task_id):
    results().sadd("done", task_id)
