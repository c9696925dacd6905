#!/usr/bin/env python3
"""tests/lib/fcgi_client.py: a FastCGI client for the process tests, speaking
to catalog-fcgi's socket directly (no web server in between), so a test can
do what nginx does at moments of its choosing.

  fcgi_client.py ADDR get PATH
      one request (FCGI_KEEP_CONN off); prints the status code and the body
  fcgi_client.py ADDR partial PATH SECONDS
      BEGIN_REQUEST and half of the variables, then prints "sent-part",
      waits SECONDS, sends the rest; prints the status code, or "none" when
      the connection ended without an answer
  fcgi_client.py ADDR hold N PATH SECONDS
      N kept connections (FCGI_KEEP_CONN), one request answered on each,
      then prints "held N" and leaves them quiet for SECONDS; then one more
      request on each; prints "answered K" (K of N still served)
  fcgi_client.py ADDR burst N PATH
      N connections opened at once, one request on each; prints
      "ok K errors E p50 P p99 Q max M" (milliseconds)
  fcgi_client.py HOST:PORT http-burst N PATH
      the same through a web server: N HTTP/1.1 connections at once, one
      GET on each (Connection: close); 200s counted as ok

ADDR is a unix socket path or host:port.  Every socket operation times
out after TIMEOUT seconds (15), so a server that never answers makes a
result, not a hang.  Exit status 0 unless the arguments were wrong; the
test decides what the output means.
"""
import os
import socket
import struct
import sys
import threading
import time

BEGIN, ABORT, END, PARAMS, STDIN, STDOUT = 1, 2, 3, 4, 5, 6
TIMEOUT = 15


def connect(addr):
    if addr.startswith('/'):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(TIMEOUT)
        s.connect(addr)
    else:
        host, port = addr.rsplit(':', 1)
        s = socket.create_connection((host, int(port)), timeout=TIMEOUT)
    return s


def record(rtype, rid, data=b''):
    return struct.pack('>BBHHBB', 1, rtype, rid, len(data), 0, 0) + data


def length(n):
    return bytes([n]) if n < 128 else struct.pack('>I', n | 0x80000000)


def params(path):
    pairs = [('REQUEST_METHOD', 'GET'), ('SCRIPT_NAME', path.split('?')[0]),
             ('QUERY_STRING', path.split('?', 1)[1] if '?' in path else ''),
             ('REQUEST_URI', path), ('SERVER_PROTOCOL', 'HTTP/1.1'),
             ('REMOTE_ADDR', '127.0.0.1'), ('REQUEST_ID', 'fcgi-client')]
    out = b''
    for k, v in pairs:
        k, v = k.encode(), v.encode()
        out += length(len(k)) + length(len(v)) + k + v
    return out


def request_bytes(path, keep, rid=1):
    flags = 1 if keep else 0
    p = params(path)
    return (record(BEGIN, rid, struct.pack('>HB5x', 1, flags)) +
            record(PARAMS, rid, p) + record(PARAMS, rid) + record(STDIN, rid))


def read_answer(s):
    """Reads records up to END_REQUEST; (status, body) or None."""
    buf, out = b'', b''
    while True:
        while len(buf) < 8:
            chunk = s.recv(65536)
            if not chunk:
                return None
            buf += chunk
        _, rtype, _, clen, plen, _ = struct.unpack('>BBHHBB', buf[:8])
        while len(buf) < 8 + clen + plen:
            chunk = s.recv(65536)
            if not chunk:
                return None
            buf += chunk
        content = buf[8:8 + clen]
        buf = buf[8 + clen + plen:]
        if rtype == STDOUT:
            out += content
        elif rtype == END:
            head, _, body = out.partition(b'\r\n\r\n')
            status = 0
            for line in head.split(b'\r\n'):
                if line.lower().startswith(b'status:'):
                    status = int(line.split()[1])
            return status, body


def cmd_get(addr, path):
    s = connect(addr)
    s.sendall(request_bytes(path, False))
    ans = read_answer(s)
    print('none' if ans is None else '%d %s' % (ans[0], ans[1].decode()))


def cmd_partial(addr, path, seconds):
    s = connect(addr)
    data = request_bytes(path, False)
    cut = 8 + 8 + 8 + len(params(path)) // 2
    s.sendall(data[:cut])
    print('sent-part', flush=True)
    time.sleep(seconds)
    try:
        s.sendall(data[cut:])
        ans = read_answer(s)
    except OSError:
        ans = None
    print('none' if ans is None else '%d' % ans[0], flush=True)


def cmd_hold(addr, n, path, seconds):
    conns = []
    for _ in range(n):
        try:
            s = connect(addr)
            s.sendall(request_bytes(path, True))
            ans = read_answer(s)
        except OSError:
            break
        if ans is not None and ans[0] == 200:
            conns.append(s)
    print('held %d' % len(conns), flush=True)
    time.sleep(seconds)
    answered = 0
    for s in conns:
        try:
            s.sendall(request_bytes(path, True))
            ans = read_answer(s)
            answered += ans is not None and ans[0] == 200
        except OSError:
            pass
        s.close()
    print('answered %d' % answered, flush=True)


def read_http(s):
    """Reads an HTTP/1.1 answer to its end (Connection: close): (status, body)."""
    data = b''
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b'\r\n\r\n')
    parts = head.split(b' ', 2)
    return (int(parts[1]) if len(parts) > 1 else 0), body


def cmd_burst(addr, n, path, http=False):
    socks, errors = [], 0
    for _ in range(n):
        try:
            socks.append(connect(addr))
        except OSError:
            errors += 1
    t0 = time.monotonic()
    for s in socks:
        if http:
            s.sendall(('GET %s HTTP/1.1\r\nHost: localhost\r\n'
                       'Connection: close\r\n\r\n' % path).encode())
        else:
            s.sendall(request_bytes(path, False))
    lat, lock = [], threading.Lock()

    def reader(group):
        nonlocal errors
        for s in group:
            try:
                ans = read_http(s) if http else read_answer(s)
            except OSError:
                ans = None
            with lock:
                if ans is not None and ans[0] == 200:
                    lat.append((time.monotonic() - t0) * 1000)
                else:
                    errors += 1
            s.close()
    threads = [threading.Thread(target=reader, args=(socks[i::16],))
               for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lat.sort()

    def pct(p):
        return lat[min(len(lat) - 1, int(len(lat) * p))] if lat else -1
    print('ok %d errors %d p50 %.1f p99 %.1f max %.1f' %
          (len(lat), errors, pct(0.5), pct(0.99), lat[-1] if lat else -1))


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 64
    addr, cmd, args = argv[1], argv[2], argv[3:]
    if cmd == 'get' and len(args) == 1:
        cmd_get(addr, args[0])
    elif cmd == 'partial' and len(args) == 2:
        cmd_partial(addr, args[0], float(args[1]))
    elif cmd == 'hold' and len(args) == 3:
        cmd_hold(addr, int(args[0]), args[1], float(args[2]))
    elif cmd == 'burst' and len(args) == 2:
        cmd_burst(addr, int(args[0]), args[1])
    elif cmd == 'http-burst' and len(args) == 2:
        cmd_burst(addr, int(args[0]), args[1], http=True)
    else:
        print(__doc__, file=sys.stderr)
        return 64
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
