#!/usr/bin/env python3
"""The soak's verdict (scripts/soak): reads what the run left in its temporary directory and checks,
printing one line per check and exiting 1 when one fails:

- every X-Ray segment sent, by id, and every journal entry written, by number, landed at the
  counting endpoint, or is counted by the agent in a Dropped reason; nothing landed that was not sent;
- duplicates within their bound: none without faults; with the SIGKILL, at most the batches in
  flight (8 trace workers x 20 calls x 50 segments; 4 journal streams x 10,000 entries);
- metric counters exact: Requests, Faults and Errors of the X-Ray service against the segments
  sent; Requests and Faults of each scrape target against what it served between its first
  scrape and its last; LoginFailure against the Keycloak lines written (with the SIGKILL, off by
  at most the Keycloak lines of 10 s: the journal is not held for the kill, so the lines read
  since the last flush lose their counts if their batch was accepted before the kill, and count
  twice if a flush sent them and their batch was not);
- the endpoint refused nothing but the injected outages (signatures and API limits held);
- resident memory over the last five minutes grew by at most 1 %;
- descriptors (journal files aside) at the end no more than at the start of the last five minutes
  (plus 2), and no batch left in the spool after the agent stopped.
"""
import argparse
import json
import os
import re
import statistics
import sys

SEGMENT_BASE = 0x1000_0000_0000


def agent_counters(path, name):
    """Sums of obs_agent_NAME_total by reason over every scrape kept (one per agent run)."""
    sums = {}
    if not os.path.exists(path):
        return sums
    runs = open(path).read().split("# HELP obs_agent_build_info")
    for run in runs:
        for m in re.finditer(r'^obs_agent_' + name + r'_total\{reason="([^"]+)"\} (\d+)', run, re.M):
            sums[m.group(1)] = sums.get(m.group(1), 0) + int(m.group(2))
    return sums


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tmp", required=True)
    parser.add_argument("--sent", type=int, required=True)
    parser.add_argument("--written", type=int, required=True)
    parser.add_argument("--minutes", type=int, required=True)
    parser.add_argument("--segments", type=int, required=True)
    parser.add_argument("--entries", type=int, required=True)
    parser.add_argument("--targets", type=int, required=True)
    parser.add_argument("--fds-end", type=int, required=True)
    args = parser.parse_args()
    tmp = args.tmp
    counts = json.load(open(os.path.join(tmp, "counts.json")))
    served = json.load(open(os.path.join(tmp, "targets.json")))
    events = [line.rstrip("\n").split(" ", 1) for line in open(os.path.join(tmp, "events")) if line.strip()]
    killed = any("SIGKILL" in text for _, text in events)
    samples = [list(map(int, line.split())) for line in open(os.path.join(tmp, "samples")) if line.strip()]
    dropped = agent_counters(os.path.join(tmp, "agent-metrics.txt"), "dropped")
    incidents = agent_counters(os.path.join(tmp, "agent-metrics.txt"), "incidents")
    sums = counts["metric_sums"]
    failures = []

    def check(name, ok, detail):
        print(f"{'ok  ' if ok else 'FAIL'} {name}: {detail}")
        if not ok:
            failures.append(name)

    print(f"soak: {args.minutes} min, {args.segments:,} segments/s and {args.entries:,} journal entries/s asked, "
          f"{args.targets} scrape targets every 5 s, PostgreSQL under pgbench"
          f"{', a SIGKILL and three 20 s outages' if killed else ', no faults'}")
    for at, text in events:
        print(f"  {int(at) // 60:2d}:{int(at) % 60:02d}  {text}")
    total_dropped = sum(dropped.values())
    dropped_text = ", ".join(f"{k} {v:,}" for k, v in sorted(dropped.items()) if v) or "nothing"
    print(f"agent's Dropped over both runs: {dropped_text}; incidents: "
          + (", ".join(f"{k} {v:,}" for k, v in sorted(incidents.items()) if v) or "none"))

    landed = set(counts["segment_ids"])
    expected = {f"{n + SEGMENT_BASE:016x}" for n in range(args.sent)}
    missing, unknown = len(expected - landed), len(landed - expected)
    check("segments by id", unknown == 0 and missing <= total_dropped,
          f"{args.sent:,} sent, {len(landed & expected):,} landed, {missing:,} missing, {unknown} not sent")
    entries = set(counts["log_ids"])
    expected_entries = {str(n) for n in range(args.written)}
    missing_entries, unknown_entries = len(expected_entries - entries), len(entries - expected_entries)
    check("journal entries by number", unknown_entries == 0 and missing_entries <= total_dropped,
          f"{args.written:,} written, {len(entries & expected_entries):,} landed, {missing_entries:,} missing, "
          f"{unknown_entries} not written")
    # Events without an entry number are the PostgreSQL source's statement texts, unless one looks
    # like a journal entry whose message was changed on the way.
    changed = [m for m in counts.get("log_events_without_id_examples", []) if "soak entry" in m]
    print(f"     {counts['log_events_without_id']:,} log events landed without an entry number (statement texts)"
          + (f"; changed journal entries: {changed}" if changed else ""))
    segment_bound, entry_bound = (8 * 20 * 50, 4 * 10_000) if killed else (0, 0)
    check("duplicates", counts["duplicate_segments"] <= segment_bound and counts["duplicate_log_events"] <= entry_bound,
          f"{counts['duplicate_segments']:,} segments (bound {segment_bound:,}), "
          f"{counts['duplicate_log_events']:,} journal entries (bound {entry_bound:,})")

    def metric(name, service):
        return sums.get(f"{name}|Service={service}", 0)

    faults = sum(1 for n in range(args.sent) if n % 20 == 0)
    errors = sum(1 for n in range(args.sent) if n % 7 == 0 and n % 20 != 0)
    got = (metric("Requests", "user-service"), metric("Faults", "user-service"), metric("Errors", "user-service"))
    check("X-Ray counters", got == (args.sent, faults, errors),
          f"Requests {got[0]:,.0f} of {args.sent:,}, Faults {got[1]:,.0f} of {faults:,}, Errors {got[2]:,.0f} of {errors:,}")
    wrong = []
    for service, stats in sorted(served.items()):
        want = (stats["last"]["requests"] - stats["first"]["requests"], stats["last"]["faults"] - stats["first"]["faults"])
        have = (metric("Requests", service), metric("Faults", service))
        if have != want:
            wrong.append(f"{service}: Requests {have[0]:,.0f} of {want[0]:,}, Faults {have[1]:,.0f} of {want[1]:,}")
    scrapes = [stats["scrapes"] for stats in served.values()]
    requests = sum(stats["last"]["requests"] - stats["first"]["requests"] for stats in served.values())
    check("scrape counters", not wrong,
          "; ".join(wrong) if wrong else f"{len(served)} targets, {min(scrapes)}-{max(scrapes)} scrapes each, "
          f"Requests {requests:,} in all, each target's exact")
    keycloak = args.written // 4
    logins = sum(v for k, v in sums.items() if k.startswith("LoginFailure|") and "Reason=" in k)
    slack = args.entries // 4 * 10 if killed else 0
    series = {k: v for k, v in sums.items() if k.startswith("LoginFailure|")}  # shown when wrong
    check("Keycloak counters", abs(logins - keycloak) <= slack,
          f"LoginFailure {logins:,.0f} of {keycloak:,} LOGIN_ERROR lines"
          + (f" (bound for the kill: {slack:,})" if killed else "")
          + ("" if abs(logins - keycloak) <= slack else f"; series {series}"))
    postgres = {k.split("|", 1)[0] for k in sums if "DBInstance=soak-db" in k}
    check("PostgreSQL", len(postgres) >= 20, f"{len(postgres)} metrics of instance soak-db landed")
    refused = {k: v for k, v in counts["refused"].items() if k != "outage"}
    check("endpoint's checks", not refused,
          f"refused {refused}" if refused else f"{counts['requests']:,} requests, signatures and API limits held; "
          f"{counts['refused'].get('outage', 0):,} answered 503 in the outages")

    last = samples[-1][4] if samples else 0
    run = [row for row in samples if row[4] == last and row[1] > 0]
    peak = f"peak {max(r[1] for r in samples) / 1024:.1f} MiB (anonymous {max(r[2] for r in samples) / 1024:.1f})" \
        if samples else ""
    if run and run[-1][0] - run[0][0] >= 420:
        # The last five minutes of the agent that ran to the end, two minutes or more after it started.
        end = run[-1][0]
        window = [row for row in run if row[0] >= end - 300]
        head, tail = window[:3], window[-3:]
        rss0, rss1 = statistics.median(r[1] for r in head), statistics.median(r[1] for r in tail)
        growth = (rss1 - rss0) / rss0 * 100
        check("memory", growth <= 1.0,
              f"RSS over the last 5 min {rss0 / 1024:.1f} -> {rss1 / 1024:.1f} MiB ({growth:+.2f} %), {peak}")
        fds0 = statistics.median(r[3] for r in head)
        check("descriptors", args.fds_end <= fds0 + 2,
              f"{fds0:.0f} at the start of the last 5 min, {args.fds_end} at the end (most {max(r[3] for r in run)}; "
              "journal files aside, which libsystemd holds while they exist)")
    else:
        print(f"--   memory and descriptors: not checked, the agent ran less than 7 min; {peak}, "
              f"{args.fds_end} descriptors at the end")
    if len(samples) >= 2:
        # CPU of the agent (ticks of 10 ms) and of the whole machine, over the load.
        loaded = [row for row in samples if row[0] <= args.minutes * 60]
        agent_ticks = sum(max(0, b[5] - a[5]) for a, b in zip(loaded, loaded[1:]) if a[4] == b[4])
        seconds = loaded[-1][0] - loaded[0][0]
        busy = (loaded[-1][6] - loaded[0][6]) / max(1, loaded[-1][7] - loaded[0][7]) * 100
        print(f"     CPU under load: the agent {agent_ticks / seconds:.0f} % of one core, the machine "
              f"({os.cpu_count()} cores) {busy:.0f} % busy")
    spool = os.path.join(tmp, "spool")
    left = [os.path.join(d, f) for d, _, files in os.walk(spool) for f in files]
    check("spool", not left, f"{len(left)} files left after the agent stopped" + (f": {left[:5]}" if left else ""))

    print("PASS" if not failures else f"FAILED: {', '.join(failures)}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
