#!/usr/bin/env python3
"""A pull consumer of mqgate in plain Python 3 (standard library only).

Claims messages with a lease, handles them, acknowledges them. A crash (or a lost response) is safe: what
was claimed and not acknowledged is handed out again once the lease expires.

    python3 examples/pull_consumer.py --gateway http://127.0.0.1:8080 --group billing --topic orders.created

Each handled message is printed as one JSON line: {"id", "key", "seq", "data"}.
Options: --max (per claim), --lease-ms, --count (exit after that many messages), --idle-exit (seconds
without messages before exiting; 0 = never), --api-key (sent as a Bearer token).
"""
import argparse
import base64
import json
import sys
import time
import urllib.error
import urllib.request


def post(gateway, path, body, api_key):
    req = urllib.request.Request(
        gateway.rstrip("/") + path,
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    if api_key:
        req.add_header("authorization", "Bearer " + api_key)
    with urllib.request.urlopen(req, timeout=30) as res:
        return json.load(res)


def handle(message):
    """Your work goes here. Raise to give the message back (nack)."""
    if "data" in message:
        data = message["data"]
    else:
        data = base64.b64decode(message.get("data_base64", "")).decode("utf-8", "replace")
    out = {"id": message["id"], "key": message.get("key"), "seq": message["seq"], "data": data}
    print(json.dumps(out), flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--gateway", default="http://127.0.0.1:8080")
    p.add_argument("--group", required=True)
    p.add_argument("--topic", required=True)
    p.add_argument("--max", type=int, default=10)
    p.add_argument("--lease-ms", type=int, default=30000)
    p.add_argument("--count", type=int, default=0)
    p.add_argument("--idle-exit", type=float, default=0)
    p.add_argument("--api-key", default=None)
    a = p.parse_args()
    base = "/v1/groups/%s/topics/%s" % (a.group, a.topic)
    handled, idle_since = 0, time.monotonic()
    while a.count == 0 or handled < a.count:
        try:
            claim = post(a.gateway, base + ":claim", {"max": a.max, "leaseMs": a.lease_ms}, a.api_key)
        except (urllib.error.URLError, OSError) as err:
            print("claim failed, retrying: %s" % err, file=sys.stderr, flush=True)
            time.sleep(1)
            continue
        messages = claim["messages"]
        if not messages:
            if a.idle_exit and time.monotonic() - idle_since > a.idle_exit:
                break
            time.sleep(0.2)
            continue
        idle_since = time.monotonic()
        done, failed = [], []
        for m in messages:
            try:
                handle(m)
                done.append(m["token"])
            except Exception as err:  # noqa: BLE001 - any failure gives the message back
                print("handler failed on %s: %s" % (m["id"], err), file=sys.stderr, flush=True)
                failed.append(m["token"])
        # An ack that fails is harmless: the lease expires and the message comes back (handle it idempotently).
        if done:
            post(a.gateway, base + ":ack", {"tokens": done}, a.api_key)
            handled += len(done)
        if failed:
            post(a.gateway, base + ":nack", {"tokens": failed, "delayMs": 1000}, a.api_key)


if __name__ == "__main__":
    main()
