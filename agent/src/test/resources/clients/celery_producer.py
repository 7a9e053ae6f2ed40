"""Publishes tasks to the Celery application of celery_app.py, one every --interval-ms, for ClientLibrariesIT.

Prints one line per task: `ok <id>` once apply_async returned (the broker acknowledged the message), or
`failed <id> <error>` when it raised even after kombu's own retries. Stops after --count tasks or --seconds.
"""
import argparse
import sys
import time

from celery_app import app

parser = argparse.ArgumentParser()
parser.add_argument("--first", type=int, required=True)
parser.add_argument("--count", type=int, required=True)
parser.add_argument("--interval-ms", type=int, default=10)
parser.add_argument("--seconds", type=float, default=60)
args = parser.parse_args()

deadline = time.monotonic() + args.seconds
for i in range(args.first, args.first + args.count):
    if time.monotonic() > deadline:
        break
    try:
        app.send_task("record", args=[i], retry=True,
                      retry_policy={"max_retries": 30, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5})
        print(f"ok {i}", flush=True)
    except Exception as e:  # noqa: BLE001 - the test counts every kind of failure
        print(f"failed {i} {type(e).__name__}: {e}".replace("\n", " "), flush=True)
    time.sleep(args.interval_ms / 1000)
sys.exit(0)
