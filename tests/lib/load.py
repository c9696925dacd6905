#!/usr/bin/env python3
# tests/lib/load.py: one load client of the fault cases (tests/lib/faults.sh).
#
#   load.py reader  OUT END_MS BASE_URL URL...
#   load.py orderer OUT END_MS BASE_URL FL_DIR TAG PRODUCT...
#
# Sends requests back to back until END_MS (wall clock) over one kept
# HTTP/1.1 connection to nginx, reconnecting when nginx or the network
# closes it, and appends one line per response to OUT, in the formats of
# faults.sh (readers "start_ms end_ms status url", orderers "start_ms
# end_ms status key body_file request_file"; status 000 when no answer
# came).  A kept connection is what a browser or a client library does,
# and it keeps the load high enough to mean something on a busy machine,
# where a fresh curl per request costs more than the request itself.
import http.client
import os
import random
import sys
import time
import urllib.parse


def now_ms():
    return int(time.time() * 1000)


class Client:
    def __init__(self, base):
        u = urllib.parse.urlsplit(base)
        self.host, self.port = u.hostname, u.port or 80
        self.conn = None

    def request(self, method, path, body=None, headers=None):
        """(status, body bytes); status 0 when no answer came."""
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port,
                                                       timeout=10)
            try:
                self.conn.request(method, path, body=body,
                                  headers=headers or {})
                r = self.conn.getresponse()
                data = r.read()
                if r.getheader("Connection", "").lower() == "close":
                    self.close()
                return r.status, data
            except (http.client.RemoteDisconnected, ConnectionResetError,
                    BrokenPipeError):
                # a kept connection nginx closed while idle: once more on
                # a new one (safe: reads, and orders carry their key)
                self.close()
            except (OSError, http.client.HTTPException):
                self.close()
                return 0, b""
        return 0, b""

    def close(self):
        if self.conn is not None:
            self.conn.close()
        self.conn = None


def reader(out, end, base, urls):
    c = Client(base)
    with open(out, "a") as f:
        while True:
            t0 = now_ms()
            if t0 >= end:
                break
            u = random.choice(urls)
            st, _ = c.request("GET", u)
            f.write("%d %d %03d %s\n" % (t0, now_ms(), st, u))
            f.flush()


def orderer(out, end, base, fl_dir, tag, prods):
    c = Client(base)
    n = 0
    with open(out, "a") as f:
        while True:
            t0 = now_ms()
            if t0 >= end:
                break
            n += 1
            key = "%s-%d-%d" % (tag, os.getpid(), n)
            p1, p2 = random.choice(prods), random.choice(prods)
            items = ['{"product_id":%s,"quantity":%d}' % (p1, random.randint(1, 3))]
            if p2 != p1 and random.randint(0, 1) == 0:
                items.append('{"product_id":%s,"quantity":%d}' %
                             (p2, random.randint(1, 3)))
            body = '{"email":"%s@example.com","items":[%s]}' % (
                key, ",".join(items))
            req = os.path.join(fl_dir, "req", key)
            with open(req, "w") as r:
                r.write(body)
            st, data = c.request("POST", "/api/orders", body=body.encode(),
                                 headers={"Content-Type": "application/json",
                                          "Idempotency-Key": key})
            resp = os.path.join(fl_dir, "body", key)
            with open(resp, "wb") as r:
                r.write(data)
            f.write("%d %d %03d %s %s %s\n" % (t0, now_ms(), st, key, resp, req))
            f.flush()


def main(argv):
    if len(argv) >= 5 and argv[1] == "reader":
        reader(argv[2], int(argv[3]), argv[4], argv[5:])
    elif len(argv) >= 8 and argv[1] == "orderer":
        orderer(argv[2], int(argv[3]), argv[4], argv[5], argv[6], argv[7:])
    else:
        print("usage: load.py reader|orderer ...", file=sys.stderr)
        return 64
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
