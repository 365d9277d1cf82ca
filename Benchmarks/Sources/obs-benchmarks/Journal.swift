import Foundation
import Logging
import ObsAWS
import ObsCore
import ObsDelivery
import ObsJournal
import Synchronization

// journald: the agent's read + encode + batch of a whole journal, against
// `journalctl -D DIR -o export > /dev/null` on the same journal, in one run (run by
// Benchmarks/journal-vs-journalctl, which builds the journal).

/// The services of the generated journal and their shares of its entries.
let journalUnits: [(unit: String, share: Int)] = [
    ("api-gateway.service", 40), ("user-service.service", 25), ("product-service.service", 20),
    ("keycloak.service", 10),
    ("postgresql.service", 5),
]

/// Writes `count` entries in export format to standard output: realistic lines of the services
/// (Spring, Keycloak events, PostgreSQL), 80 to 400 bytes, one every 100 µs up to now.
nonisolated func writeJournalExport(count: Int) {
    var generator = SplitMix64(seed: 42)
    let start = UInt64(Date().timeIntervalSince1970 * 1_000_000) - UInt64(count) * 100 - 60_000_000
    var units: [String] = []
    for (unit, share) in journalUnits { units += Array(repeating: unit, count: share) }
    var out: [UInt8] = []
    out.reserveCapacity(8 << 20)
    let words = ["order", "cart", "user", "product", "payment", "session", "token", "inventory", "price", "catalog"]
    for n in 0..<count {
        let unit = units[Int(generator.next() % UInt64(units.count))]
        let realtime = start + UInt64(n) * 100
        var message: String
        switch unit {
        case "keycloak.service":
            let failed = generator.next() % 5 == 0
            message =
                "2026-11-27 10:00:00,\(n % 1000) \(failed ? "WARN " : "INFO ") [org.keycloak.events] (executor-thread-\(n % 16)) type=\(failed ? "LOGIN_ERROR" : "LOGIN"), realmId=shop, clientId=web-shop, userId=\(failed ? "null" : "u\(n % 5000)"), ipAddress=10.0.\(n % 200).\(n % 250)"
                + (failed ? ", error=invalid_user_credentials" : "")
                + ", auth_method=openid-connect, auth_type=code, redirect_uri=https://shop.example.com/callback, code_id=\(generator.next()), username=user\(n % 5000)"
        case "postgresql.service":
            message =
                "2026-11-27 10:00:00.\(n % 1000) UTC [\(1000 + n % 50)] LOG:  duration: \(generator.next() % 900).\(n % 1000) ms  statement: SELECT * FROM \(words[n % 10]) WHERE id = $1"
        default:
            var text =
                "2026-11-27T10:00:00.\(n % 1000)Z  INFO 1 --- [nio-8080-exec-\(n % 20)] c.e.\(words[n % 10]).Controller : handled request"
            let extra = Int(generator.next() % 280)
            while text.utf8.count < 80 + extra {
                text += " \(words[Int(generator.next() % 10)])=\(generator.next() % 100_000)"
            }
            message = text
        }
        JournalExportFormat.append(
            realtime: realtime, monotonic: realtime - 1_700_000_000_000_000, bootID: "0123456789abcdef0123456789abcdef",
            fields: [
                ("_HOSTNAME", Array("ip-10-0-1-17".utf8)), ("_SYSTEMD_UNIT", Array(unit.utf8)),
                ("PRIORITY", Array("6".utf8)),
                ("SYSLOG_IDENTIFIER", Array(unit.dropLast(8).utf8)), ("_PID", Array("\(1000 + n % 7)".utf8)),
                ("_TRANSPORT", Array("stdout".utf8)), ("MESSAGE", Array(message.utf8)),
            ], to: &out)
        if out.count > 4 << 20 {
            writeAll(out)
            out.removeAll(keepingCapacity: true)
        }
    }
    writeAll(out)
}

/// Writes `bytes` to standard output.
nonisolated func writeAll(_ bytes: [UInt8]) {
    bytes.withUnsafeBytes { buffer in
        var offset = 0
        while offset < buffer.count {
            let written = write(1, buffer.baseAddress! + offset, buffer.count - offset)
            if written <= 0 { return }
            offset += written
        }
    }
}

/// Accepts every batch at once and counts the calls and what they carried, per stream.
final class CountingSender: BatchSender, @unchecked Sendable {
    let kind = CloudWatchLogSink.batchKind
    let calls = Atomic<Int>(0)
    let events = Atomic<Int>(0)
    func send(_ batch: SpooledBatch) async -> SendOutcome {
        calls.add(1, ordering: .relaxed)
        events.add(batch.items, ordering: .relaxed)
        return .delivered
    }
}

/// The fewest PutLogEvents calls the limits allow for the journal: per stream, its bytes (message
/// + 26 each) over 1 MiB or its events over 10,000, whichever needs more; summed over streams.
nonisolated func minimumCalls(directory: String) throws -> (calls: Int, entries: Int, bytes: Int) {
    let reader = try JournalReader(.directory(directory))
    try reader.seekHead()
    var perStream: [String: (events: Int, bytes: Int)] = [:]
    var entries = 0
    var totalBytes = 0
    var scratch: [UInt8] = []
    while try reader.advance() {
        var unit = ""
        var host = ""
        var size = 0
        reader.forEachField { field in
            if field.starts(with: "MESSAGE=".utf8) {
                let value = UnsafeRawBufferPointer(rebasing: field[8...])
                MessageText.repaired(value, limit: CloudWatchLogsLimits.maxMessageBytes, into: &scratch)
                size = scratch.count
            } else if field.starts(with: "_SYSTEMD_UNIT=".utf8) {
                unit = String(decoding: field[14...], as: UTF8.self)
            } else if field.starts(with: "_HOSTNAME=".utf8) {
                host = String(decoding: field[10...], as: UTF8.self)
            }
        }
        entries += 1
        totalBytes += size + 26
        perStream[unit + "/" + host, default: (0, 0)].events += 1
        perStream[unit + "/" + host, default: (0, 0)].bytes += size + 26
    }
    let calls = perStream.values.map { max(($0.bytes + 1_048_575) / 1_048_576, ($0.events + 9_999) / 10_000) }.reduce(
        0, +)
    return (calls, entries, totalBytes)
}

/// Memory of this process from /proc/self/status, in MiB.
nonisolated func memoryStatus() -> [String: Double] {
    guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return [:] }
    var result: [String: Double] = [:]
    for line in text.split(separator: "\n") {
        let parts = line.split(separator: ":")
        guard parts.count == 2, ["VmHWM", "VmRSS", "RssAnon", "RssFile"].contains(String(parts[0])) else { continue }
        let number = parts[1].split(whereSeparator: { $0 == " " || $0 == "\t" }).first.flatMap { Double($0) } ?? 0
        result[String(parts[0])] = number / 1024
    }
    return result
}

/// Resident MiB of this process's mappings of journal files, and of its shared libraries and
/// executable, from /proc/self/smaps.
nonisolated func mappedResident() -> (journal: Double, code: Double) {
    // /proc files report no size: read until the end.
    let fd = open("/proc/self/smaps", O_RDONLY)
    guard fd >= 0 else { return (0, 0) }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n <= 0 { break }
        bytes += chunk[0..<n]
    }
    let text = String(decoding: bytes, as: UTF8.self)
    var journal = 0.0
    var code = 0.0
    var path = ""
    for line in text.split(separator: "\n") {
        if let first = line.first, first.isHexDigit, line.contains("-"), !line.hasPrefix("Rss") {
            path = line.split(separator: " ", omittingEmptySubsequences: true).dropFirst(5).joined(separator: " ")
        } else if line.hasPrefix("Rss:") {
            let kb = Double(line.split(whereSeparator: { $0 == " " }).dropFirst().first ?? "0") ?? 0
            if path.hasSuffix(".journal") || path.contains(".journal~") {
                journal += kb
            } else if path.hasPrefix("/") {
                code += kb
            }
        }
    }
    return (journal / 1024, code / 1024)
}

/// Runs `arguments` with standard output to `output` (a path) and returns its CPU seconds, wall
/// seconds and peak resident memory (MiB), from wait4.
nonisolated func measureChild(_ arguments: [String], output: String) -> (cpu: Double, wall: Double, maxRSS: Double) {
    let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
    defer { for argument in argv { free(argument) } }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    var pid = pid_t()
    let started = now()
    guard posix_spawn(&pid, arguments[0], &actions, nil, argv, environ) == 0 else { return (0, 0, 0) }
    var status: Int32 = 0
    var usage = rusage()
    while wait4(pid, &status, 0, &usage) < 0, errno == EINTR {}
    let wall = Double(now() - started) / 1e9
    let cpu =
        Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec)
        / 1e6
    return (cpu, wall, Double(usage.ru_maxrss) / 1024)
}

/// The agent's side, in a process of its own (`obs-benchmarks journal-agent DIR ENTRIES`): ships
/// the whole journal to a sender that accepts at once, and prints one line: the seconds and CPU
/// seconds until the last entry was read, encoded and batched, the calls, and its memory.
nonisolated func runJournalAgent(directory: String, entries: Int) {
    let stateDirectory = NSTemporaryDirectory() + "obs-bench-journal-\(UUID().uuidString)"
    try! FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: stateDirectory) }
    var settings = JournalSettings(stateFile: stateDirectory + "/journald.state")
    settings.directory = directory
    settings.start = .head
    settings.metricsMaxAge = 14 * 86400  // every Keycloak line counts: the parse is part of the work
    let sender = CountingSender()
    let recorder = Recorder()
    let aggregator = Aggregator(recorder: recorder)
    let source = JournalSource(
        settings: settings, recorder: recorder,
        outlet: BatchDeliverer(
            name: "bench", sender: sender, recorder: recorder, healthName: "journald", logger: Logger(label: "bench")),
        logger: Logger(label: "bench"))
    let cpuBefore = processCPU()
    let started = now()
    let task = Task.detached { await source.run() }
    // Until the last entry is read, encoded and in its batch (the last batches then wait up to a
    // second at the journal's end, as they do in the agent, for more entries to come). The rings
    // are drained as the agent's flush would.
    while source.counts.read < entries {
        usleep(1_000)
        aggregator.drain()
    }
    let wall = Double(now() - started) / 1e9
    let cpu = processCPU() - cpuBefore
    while sender.events.load(ordering: .relaxed) < entries {
        usleep(2_000)
        aggregator.drain()
    }
    let memory = memoryStatus()
    let mapped = mappedResident()
    task.cancel()
    let done = DispatchSemaphore(value: 0)
    Task.detached {
        await task.value
        await source.finish(within: 1)
        done.signal()
    }
    done.wait()
    print(
        wall, cpu, sender.calls.load(ordering: .relaxed), memory["VmHWM"] ?? 0, memory["RssAnon"] ?? 0, mapped.journal,
        mapped.code)
}

nonisolated func compareJournalWithJournalctl(directory: String) {
    let (minimum, entries, bytes) = try! minimumCalls(directory: directory)
    let output = NSTemporaryDirectory() + "obs-bench-journal-agent-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: output) }
    var journalctl: [(cpu: Double, wall: Double, maxRSS: Double)] = []
    var agent:
        [(wall: Double, cpu: Double, calls: Int, peak: Double, anonymous: Double, journal: Double, code: Double)] = []
    for _ in 0..<3 {
        journalctl.append(
            measureChild(["/usr/bin/journalctl", "-D", directory, "-o", "export", "--no-pager"], output: "/dev/null"))
        _ = measureChild([CommandLine.arguments[0], "journal-agent", directory, "\(entries)"], output: output)
        let fields = ((try? String(contentsOfFile: output, encoding: .utf8)) ?? "").split(
            whereSeparator: \.isWhitespace)
        guard fields.count == 7 else {
            print("journal-agent failed")
            return
        }
        agent.append(
            (
                Double(fields[0])!, Double(fields[1])!, Int(fields[2])!, Double(fields[3])!, Double(fields[4])!,
                Double(fields[5])!, Double(fields[6])!
            ))
    }
    let agentCPU = median(agent.map(\.cpu))
    let agentWall = median(agent.map(\.wall))
    let ctlCPU = median(journalctl.map(\.cpu))
    let ctlWall = median(journalctl.map(\.wall))
    report(
        "journal: agent read+encode+batch", Double(entries) / agentWall, "entries/s",
        note: String(
            format: "%.2f µs CPU an entry, %.2f s wall, %d entries, %.0f MB of messages",
            agentCPU / Double(entries) * 1e6, agentWall, entries, Double(bytes) / 1e6))
    report(
        "journal: journalctl -o export > /dev/null", Double(entries) / ctlWall, "entries/s",
        note: String(
            format: "%.2f µs CPU an entry, %.2f s wall; agent/journalctl CPU %.2f", ctlCPU / Double(entries) * 1e6,
            ctlWall, agentCPU / ctlCPU))
    let calls = agent.map(\.calls).max() ?? 0
    report(
        "journal: PutLogEvents calls", Double(calls), "calls",
        note: String(
            format: "minimum the 1 MiB and 10,000-event limits allow %d; ratio %.3f", minimum,
            Double(calls) / Double(minimum)))
    report(
        "journal: agent resident memory", median(agent.map(\.peak)), "MiB peak",
        note: String(
            format:
                "at the end: anonymous %.1f MiB, journal files mapped %.1f MiB, executable and libraries %.1f MiB; journalctl peak %.1f MiB",
            median(agent.map(\.anonymous)), median(agent.map(\.journal)), median(agent.map(\.code)),
            median(journalctl.map(\.maxRSS))))
}
