#!/usr/bin/env python3
"""A DNS server on 127.0.0.1 for the tests (dnslib): answers SRV queries for the names given with
--srv NAME=TARGET:PORT[,TARGET:PORT...] (or listed one a line in --srv-file, read again at every query,
so a test can change the answer), NXDOMAIN for anything else. Prints "port N" once it listens (port 0:
any free port)."""
import argparse
import socket
import sys
import time

from dnslib import QTYPE, RCODE, RR, SRV, DNSRecord


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--srv", action="append", default=[])
    parser.add_argument("--srv-file")
    parser.add_argument("--lifetime", type=float, default=300, help="stop after this many seconds")
    args = parser.parse_args()

    def parse(specs):
        records = {}
        for spec in specs:
            name, targets = spec.strip().split("=", 1)
            records[name.rstrip(".").lower()] = [(t.rsplit(":", 1)[0], int(t.rsplit(":", 1)[1])) for t in targets.split(",")]
        return records

    fixed = parse(args.srv)

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", args.port))
    print(f"port {sock.getsockname()[1]}", flush=True)
    sock.settimeout(1)
    deadline = time.monotonic() + args.lifetime
    while time.monotonic() < deadline:
        try:
            data, peer = sock.recvfrom(4096)
        except socket.timeout:
            continue
        try:
            query = DNSRecord.parse(data)
        except Exception:  # noqa: BLE001 - a stand-in ignores garbage
            continue
        records = dict(fixed)
        if args.srv_file:
            with open(args.srv_file) as f:
                records.update(parse(line for line in f if line.strip()))
        reply = query.reply()
        name = str(query.q.qname).rstrip(".").lower()
        if query.q.qtype == QTYPE.SRV and name in records:
            for priority, (target, port) in enumerate(records[name]):
                reply.add_answer(RR(query.q.qname, QTYPE.SRV, ttl=10, rdata=SRV(priority=10, weight=priority, port=port, target=target + ".")))
        elif name not in records:
            reply.header.rcode = RCODE.NXDOMAIN
        sock.sendto(reply.pack(), peer)
    return 0


if __name__ == "__main__":
    sys.exit(main())
