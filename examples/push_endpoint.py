#!/usr/bin/env python3
"""A push endpoint for mqgate subscriptions in plain Python 3 (standard library only).

mqgate POSTs each message as a CloudEvent in binary mode: attributes in ce-* headers, the payload as the body.
Answer 2xx to acknowledge; 429 or 503 with Retry-After to slow mqgate down (not a failure); anything else
is retried with backoff and then dead-lettered.

    python3 examples/push_endpoint.py --port 9000
    curl -X POST localhost:8080/v1/subscriptions -H 'content-type: application/json' \\
      -d '{"name":"py","topics":["orders.created"],"endpoint":"http://127.0.0.1:9000/events"}'

Each event is printed as one JSON line: {"id", "type", "key", "seq", "contentType", "data"}. The first line
printed is {"listening": <port>} (use --port 0 for any free port).
"""
import argparse
import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        ctype = self.headers.get("content-type", "")
        data = json.loads(body) if ctype.startswith("application/json") else body.decode("utf-8", "replace")
        event = {
            "id": self.headers.get("ce-id"),
            "type": self.headers.get("ce-type"),
            "key": self.headers.get("ce-partitionkey"),
            "seq": int(self.headers.get("ce-sequence", "0")),
            "contentType": ctype,
            "data": data,
        }
        print(json.dumps(event), flush=True)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):  # keep stdout for events
        pass


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=9000)
    a = p.parse_args()
    server = ThreadingHTTPServer((a.host, a.port), Handler)
    print(json.dumps({"listening": server.server_address[1]}), flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
