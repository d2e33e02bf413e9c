#!/usr/bin/env python3
"""Run ovs-ofctl against a fake OpenFlow 1.3 switch and print what it sends.

Usage: ofctl_capture.py SOCKET ovs-ofctl ARGS...  (ARGS name the switch as unix:SOCKET)

The fake switch listens on the Unix socket SOCKET, sends an OpenFlow 1.3 hello, answers
echo, features, barrier and multipart requests minimally, and prints every message it
receives except the hello, one hex string per line. Used by gen_conformance.sh to record
the exact bytes ovs-ofctl sends for a flow.
"""
import os
import socket
import struct
import subprocess
import sys


def main():
    path, cmd = sys.argv[1], sys.argv[2:]
    if os.path.exists(path):
        os.unlink(path)
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    srv.settimeout(10)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        conn, _ = srv.accept()
    except socket.timeout:
        proc.kill()
        sys.exit("ovs-ofctl did not connect: " + proc.communicate()[1].decode())
    conn.settimeout(5)

    def send(msg_type, xid, body=b""):
        conn.sendall(struct.pack("!BBHI", 4, msg_type, 8 + len(body), xid) + body)

    send(0, 1, struct.pack("!HHI", 1, 8, 1 << 4))
    buf = b""
    try:
        while proc.poll() is None or buf:
            data = conn.recv(65536)
            if not data:
                break
            buf += data
            while len(buf) >= 8:
                _, msg_type, length, xid = struct.unpack("!BBHI", buf[:8])
                if len(buf) < length:
                    break
                msg, buf = buf[:length], buf[length:]
                if msg_type != 0:
                    print(msg.hex(), flush=True)
                if msg_type == 2:  # echo request
                    send(3, xid, msg[8:])
                elif msg_type == 5:  # features request
                    send(6, xid, struct.pack("!QIBB2xII", 1, 0, 254, 0, 0, 0))
                elif msg_type == 18:  # multipart request: empty reply of the same type
                    send(19, xid, msg[8:10] + b"\0" * 6)
                elif msg_type == 20:  # barrier request
                    send(21, xid)
    except socket.timeout:
        pass
    conn.close()
    _, err = proc.communicate(timeout=10)
    os.unlink(path)
    if proc.returncode != 0:
        sys.exit("ovs-ofctl failed: " + err.decode())


if __name__ == "__main__":
    main()
