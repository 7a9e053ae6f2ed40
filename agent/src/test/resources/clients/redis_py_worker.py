"""Ordinary work through a Skep write port with redis-py, for ClientLibrariesIT.

Appends a counter to the list `log:redis-py` (RPUSH) and reads it back now and then, one request every few
milliseconds, with one client object for the whole run: whatever happens to the master, this script never
recreates it (the library's pool must recover by itself). Prints `ok <n>` once RPUSH of n is acknowledged, and
`err <n> <Type>: <message>` when a request raises. Stops when the file --stop exists, or after --seconds.
"""
import argparse
import os
import time

import redis

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, required=True)
parser.add_argument("--stop", required=True)
parser.add_argument("--seconds", type=float, default=90)
parser.add_argument("--protocol", type=int, default=2)
args = parser.parse_args()

client = redis.Redis(host="127.0.0.1", port=args.port, socket_timeout=10)
deadline = time.monotonic() + args.seconds
n = 0
while time.monotonic() < deadline and not os.path.exists(args.stop):
    n += 1
    try:
        client.rpush("log:redis-py", n)
        if n % 20 == 0:
            client.lrange("log:redis-py", -5, -1)
        print(f"ok {n}", flush=True)
    except Exception as e:  # noqa: BLE001 - the test classifies every kind of failure
        print(f"err {n} {type(e).__name__}: {e}".replace("\n", " "), flush=True)
    time.sleep(0.005)
