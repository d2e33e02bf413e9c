#!/usr/bin/env python3
"""Regenerates ctl/src/ofctl/print/ovs_fields.rs: Open vSwitch's field names, in Open vSwitch's
internal field order, with the OXM/NXM header each field is listed under in OpenFlow 1.3 table
features.

rvs-ofctl needs this table to print table features as `ovs-ofctl dump-table-features` does:
Open vSwitch prints fields by name, sorted by its internal field id, and abbreviates runs of
names. Neither the names of fields rvs does not implement nor the order are in any reply, so
they are taken from Open vSwitch itself, in two steps:

1. A private ovs-vswitchd (dummy datapath, temporary directory, killed at the end) describes
   its tables: the match property of table 0 lists every matchable field's header, in
   internal field order (Open vSwitch walks its field bitmap to write it).
2. A fake switch answers `ovs-ofctl -O OpenFlow13 dump-table-features` with one table per
   header, each matching only that field; ovs-ofctl prints each table's field name.

Usage: python3 ctl/tests/ofctl_gen_fields.py   (needs ovs-vswitchd, ovsdb-server, ovs-ofctl)
"""
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "src", "ofctl", "print", "ovs_fields.rs")


def recv_msg(sock, buf):
    while True:
        if len(buf) >= 8:
            length = struct.unpack("!H", buf[2:4])[0]
            if len(buf) >= length:
                return buf[:length], buf[length:]
        data = sock.recv(65536)
        if not data:
            raise EOFError
        buf += data


def ovs_table_features():
    """Starts a private Open vSwitch and returns the table features reply body of table 0."""
    d = tempfile.mkdtemp(prefix="rvs-genfields-")
    env = dict(os.environ, OVS_RUNDIR=d, OVS_DBDIR=d, OVS_LOGDIR=d, OVS_SYSCONFDIR=d)
    db = os.path.join(d, "conf.db")
    sock = os.path.join(d, "db.sock")
    procs = []
    try:
        subprocess.run(["ovsdb-tool", "create", db, "/usr/share/openvswitch/vswitch.ovsschema"], check=True, env=env)
        procs.append(subprocess.Popen(["ovsdb-server", db, "--remote=punix:" + sock, "--unixctl=" + os.path.join(d, "db.ctl")], env=env,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        while not os.path.exists(sock):
            time.sleep(0.05)
        vsctl = ["ovs-vsctl", "--db=unix:" + sock]
        subprocess.run(vsctl + ["--no-wait", "init"], check=True, env=env)
        procs.append(subprocess.Popen(["ovs-vswitchd", "--enable-dummy=override", "--disable-system", "unix:" + sock,
                                       "--unixctl=" + os.path.join(d, "vs.ctl")], env=env,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        subprocess.run(vsctl + ["add-br", "br0", "--", "set", "bridge", "br0", "datapath_type=netdev"], check=True, env=env)
        mgmt = os.path.join(d, "br0.mgmt")
        s = socket.socket(socket.AF_UNIX)
        s.connect(mgmt)
        s.sendall(struct.pack("!BBHIHHI", 4, 0, 16, 1, 1, 8, 1 << 4))
        s.sendall(struct.pack("!BBHIHH4x", 4, 18, 16, 2, 12, 0))
        buf = b""
        while True:
            msg, buf = recv_msg(s, buf)
            if msg[1] == 19 and struct.unpack("!I", msg[4:8])[0] == 2:
                body = msg[16:]
                length = struct.unpack("!H", body[:2])[0]
                return body[:length]
    finally:
        for p in reversed(procs):
            p.send_signal(signal.SIGTERM)
            p.wait()
        shutil.rmtree(d, ignore_errors=True)


def props(entry):
    out = {}
    p = entry[64:]
    while p:
        t, length = struct.unpack("!HH", p[:4])
        out[t] = p[4:length]
        p = p[(length + 7) // 8 * 8:]
    return out


def oxm_ids(body):
    ids = []
    while body:
        h = struct.unpack("!I", body[:4])[0]
        if h >> 16 == 0xFFFF:
            ids.append((h, struct.unpack("!I", body[4:8])[0]))
            body = body[8:]
        else:
            ids.append((h, 0))
            body = body[4:]
    return ids


def unmasked(h):
    if h & 0x100:
        exp = 4 if h >> 16 == 0xFFFF else 0
        return (h & ~0x1FF) | ((h & 0xFF) - exp) // 2 + exp
    return h


def prop(t, body):
    length = 4 + len(body)
    return struct.pack("!HH", t, length) + body + b"\0" * ((length + 7) // 8 * 8 - length)


def names_of(ids):
    """Asks ovs-ofctl to name each header: a fake switch serves one table per header."""
    entries = b""
    for k, (h, e) in enumerate(ids):
        body = struct.pack("!I", h) + (struct.pack("!I", e) if h >> 16 == 0xFFFF else b"")
        ps = b"".join(prop(t, b"") for t in (0, 2, 4, 12, 6, 14)) + prop(8, body) + prop(10, b"")
        entries += struct.pack("!HB5x", 64 + len(ps), k) + b"\0" * 32 + struct.pack("!QQII", 0, 0, 0, 0) + ps
    reply = struct.pack("!BBHIHH4x", 4, 19, 16 + len(entries), 0, 12, 0) + entries
    d = tempfile.mkdtemp(prefix="rvs-genfields-")
    path = os.path.join(d, "fake.sock")
    srv = socket.socket(socket.AF_UNIX)
    srv.bind(path)
    srv.listen(1)

    def serve():
        c, _ = srv.accept()
        c.sendall(struct.pack("!BBHIHHI", 4, 0, 16, 1, 1, 8, 1 << 4))
        buf = b""
        try:
            while True:
                msg, buf = recv_msg(c, buf)
                if msg[1] == 18:
                    c.sendall(reply[:4] + msg[4:8] + reply[8:])
        except (EOFError, OSError):
            pass
        c.close()

    t = threading.Thread(target=serve)
    t.start()
    out = subprocess.run(["ovs-ofctl", "-O", "OpenFlow13", "dump-table-features", "unix:" + path],
                         check=True, capture_output=True, text=True).stdout
    t.join()
    shutil.rmtree(d, ignore_errors=True)
    found = re.findall(r"  table (\d+):\n    matching:\n      must exact match: (\S+)\n", out)
    assert len(found) == len(ids), (len(found), len(ids))
    return [name for _, name in found]


def main():
    entry = ovs_table_features()
    ids = [(unmasked(h), e) for h, e in oxm_ids(props(entry)[8])]
    names = names_of(ids)
    version = subprocess.run(["ovs-ofctl", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    with open(OUT, "w") as f:
        f.write("//! Open vSwitch's fields as table features list them: name, OpenFlow 1.3 header (without\n")
        f.write("//! `hasmask`) and experimenter id (0 for none), in Open vSwitch's internal field order.\n")
        f.write("//!\n")
        f.write("//! Generated by `ctl/tests/ofctl_gen_fields.py` from %s; do not edit.\n\n" % version)
        f.write("/// `(name, header, experimenter)` in Open vSwitch's field order.\n")
        f.write("pub(crate) static OVS_FIELDS: &[(&str, u32, u32)] = &[\n")
        for name, (h, e) in zip(names, ids):
            f.write('    ("%s", 0x%08x, 0x%x),\n' % (name, h, e))
        f.write("];\n")
    print("wrote %s (%d fields)" % (OUT, len(names)))


if __name__ == "__main__":
    sys.exit(main())
