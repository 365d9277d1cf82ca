#!/usr/bin/env python3
"""Whole-process CPU and memory, as an operator reads them from /proc.

    proctally.py SECONDS NAME=SPEC [NAME=SPEC ...]

SPEC is `pid:PID` (one process: user + system ticks of all its threads, from /proc/PID/stat) or
`pg:ROLE:POSTMASTER` (every child of the postmaster POSTMASTER whose process title is
`postgres: ROLE ...`, found again at each poll so a backend that starts during the run counts whole). Several specs joined with `+` add up.
Polls every 0.25 s for SECONDS, then prints one JSON object: for each NAME its ticks over the window
(CLK_TCK a second), seconds of CPU, and for `pid:` specs the peak and last RSS in kB (VmHWM, VmRSS).
A backend that exits between polls loses at most its last 0.25 s.
"""
import json
import os
import sys
import time

TICK = os.sysconf("SC_CLK_TCK")


def ticks(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except (OSError, IndexError, ValueError):
        return None


def status(pid, key):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def parent(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def backends(spec):
    role, postmaster = spec.rsplit(":", 1)
    prefix = f"postgres: {role} ".encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                if f.read(len(prefix)) == prefix and parent(entry) == int(postmaster):
                    found.append(int(entry))
        except OSError:
            pass
    return found


def main():
    seconds = float(sys.argv[1])
    groups = {}
    for arg in sys.argv[2:]:
        name, spec = arg.split("=", 1)
        groups[name] = spec.split("+")
    first, last, rss = {}, {}, {}

    def poll(initial):
        for name, specs in groups.items():
            for spec in specs:
                kind, value = spec.split(":", 1)
                pids = [int(value)] if kind == "pid" else backends(value)
                for pid in pids:
                    t = ticks(pid)
                    if t is None:
                        continue
                    key = (name, pid)
                    if key not in first:
                        first[key] = t if initial else 0
                    last[key] = t
                    if kind == "pid":
                        rss[name] = (status(pid, "VmHWM"), status(pid, "VmRSS"))

    poll(True)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        time.sleep(0.25)
        poll(False)
    result = {}
    for name in groups:
        total = sum(last[k] - first[k] for k in last if k[0] == name)
        result[name] = {"ticks": total, "cpu_seconds": total / TICK}
        if name in rss:
            result[name]["peak_rss_kb"], result[name]["rss_kb"] = rss[name]
    print(json.dumps(result))


if __name__ == "__main__":
    main()
