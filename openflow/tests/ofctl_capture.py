#!/usr/bin/env python3
"""Run ovs-ofctl against a fake OpenFlow switch, or through a recording proxy, and print
what it sends.

Usage:
  ofctl_capture.py [-v VERSION] SOCKET ovs-ofctl ARGS...
  ofctl_capture.py --proxy TARGET SOCKET ovs-ofctl ARGS...
(ARGS name the switch as unix:SOCKET.)

Fake switch (the default): listens on the Unix socket SOCKET, sends a hello of wire version
VERSION (4, OpenFlow 1.3, unless -v says otherwise; 1 is OpenFlow 1.0), answers echo,
features, barrier and statistics requests minimally (empty replies of the requested type,
Nicira statistics included), and prints every message it receives except the hello, one hex
string per line. Used by gen_conformance.sh to record the exact bytes ovs-ofctl sends for a
flow.

Proxy (--proxy): forwards every connection ovs-ofctl opens on SOCKET to the real switch
socket TARGET and prints every message of both directions, hellos included, as
"N > HEX" (ovs-ofctl to the switch) or "N < HEX" (the switch to ovs-ofctl), where N counts
the connections from 1. Used by gen_conformance.sh to record whole conversations between
ovs-ofctl and a real Open vSwitch.
"""
import os
import socket
import struct
import subprocess
import sys
import threading

NX_VENDOR_ID = 0x2320


def frames(buf):
    """Splits complete OpenFlow messages off the front of buf: (messages, rest)."""
    out = []
    while len(buf) >= 8:
        length = struct.unpack("!H", buf[2:4])[0]
        if length < 8 or len(buf) < length:
            break
        out.append(buf[:length])
        buf = buf[length:]
    return out, buf


def fake_switch(conn, proc, version):
    def send(msg_type, xid, body=b""):
        conn.sendall(struct.pack("!BBHI", version, msg_type, 8 + len(body), xid) + body)

    if version == 1:
        send(0, 1)
        types = {"echo": 2, "features": 5, "stats_req": 16, "stats_rep": 17, "barrier": 18}
    else:
        send(0, 1, struct.pack("!HHI", 1, 8, 1 << version))
        types = {"echo": 2, "features": 5, "stats_req": 18, "stats_rep": 19, "barrier": 20}
    buf = b""
    try:
        while proc.poll() is None or buf:
            data = conn.recv(65536)
            if not data:
                break
            msgs, buf = frames(buf + data)
            for msg in msgs:
                msg_type, xid = msg[1], struct.unpack("!I", msg[4:8])[0]
                if msg_type != 0:
                    print(msg.hex(), flush=True)
                if msg_type == types["echo"]:
                    send(3, xid, msg[8:])
                elif msg_type == types["features"]:
                    send(6, xid, struct.pack("!QIBB2xII", 1, 0, 254, 0, 0, 0))
                elif msg_type == types["stats_req"]:
                    # An empty reply of the same type (Nicira statistics keep their
                    # vendor header and subtype).
                    stats_type = struct.unpack("!H", msg[8:10])[0]
                    fixed = 4 if version == 1 else 8
                    reply = msg[8:10] + b"\0" * (fixed - 2)
                    aggregate = stats_type == 2
                    if stats_type == 0xFFFF:
                        vendor = msg[8 + fixed:8 + fixed + 8]
                        reply += vendor + b"\0" * (4 if version == 1 else 0)
                        aggregate = struct.unpack("!I", vendor[4:8])[0] == 1
                    if aggregate:
                        reply += b"\0" * 24  # zero counters
                    send(types["stats_rep"], xid, reply)
                elif msg_type == types["barrier"]:
                    send(types["barrier"] + 1, xid)
    except socket.timeout:
        pass


def proxy(client, target, n, lock):
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.connect(target)

    def pump(src, dst, arrow):
        buf = b""
        while True:
            try:
                data = src.recv(65536)
            except OSError:
                data = b""
            if not data:
                try:
                    dst.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                return
            msgs, buf = frames(buf + data)
            with lock:
                for m in msgs:
                    print("%d %s %s" % (n, arrow, m.hex()), flush=True)
            dst.sendall(data)

    a = threading.Thread(target=pump, args=(client, server, ">"))
    b = threading.Thread(target=pump, args=(server, client, "<"))
    a.start()
    b.start()
    return [a, b]


def main():
    args = sys.argv[1:]
    version, target = 4, None
    while args and args[0].startswith("-"):
        if args[0] == "-v":
            version, args = int(args[1]), args[2:]
        elif args[0] == "--proxy":
            target, args = args[1], args[2:]
        else:
            sys.exit("unknown option " + args[0])
    path, cmd = args[0], args[1:]
    if os.path.exists(path):
        os.unlink(path)
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(8)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if target is None:
        srv.settimeout(10)
        try:
            conn, _ = srv.accept()
        except socket.timeout:
            proc.kill()
            sys.exit("ovs-ofctl did not connect: " + proc.communicate()[1].decode())
        conn.settimeout(5)
        fake_switch(conn, proc, version)
        conn.close()
    else:
        srv.settimeout(0.2)
        lock = threading.Lock()
        threads, n = [], 0
        while proc.poll() is None:
            try:
                conn, _ = srv.accept()
            except socket.timeout:
                continue
            n += 1
            threads += proxy(conn, target, n, lock)
        for t in threads:
            t.join(timeout=5)
    _, err = proc.communicate(timeout=10)
    os.unlink(path)
    if proc.returncode != 0 and target is None:
        sys.exit("ovs-ofctl failed: " + err.decode())


if __name__ == "__main__":
    main()
