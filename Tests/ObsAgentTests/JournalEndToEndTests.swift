import Foundation
import ObsJournal
import Testing

/// The agent binary shipping a real journal (built by systemd-journal-remote) to the local
/// CloudWatch Logs endpoint, through the fault proxy: SIGKILLed while shipping and restarted, and
/// an endpoint that is down for a while. Every entry arrives, in order per stream, and at most the
/// batch in flight at each kill arrives twice.
@Suite(
    .enabled(
        if: TestServices.hasAWS && TestServices.hasBinary
            && FileManager.default.isExecutableFile(atPath: "/lib/systemd/systemd-journal-remote"),
        "needs scripts/test: moto_server, the built obs-agent and systemd-journal-remote"),
    .serialized)
struct JournalEndToEndTests {
    static let journalRemote = "/lib/systemd/systemd-journal-remote"
    static let units = ["user-service.service", "product-service.service", "keycloak.service"]

    /// Writes entries `range` (three units in turn, about 600 bytes each, 1 ms apart) to a new
    /// file in `directory`.
    static func writeJournal(_ range: Range<Int>, to directory: String, base: UInt64, file: String) throws {
        var export: [UInt8] = []
        let padding = String(repeating: "x", count: 560)
        for n in range {
            let unit = units[n % 3]
            let realtime = base + UInt64(n) * 1000
            JournalExportFormat.append(
                realtime: realtime, monotonic: realtime - 1_700_000_000_000_000,
                bootID: "0123456789abcdef0123456789abcdef",
                fields: [
                    ("_HOSTNAME", Array("node-1".utf8)), ("_SYSTEMD_UNIT", Array(unit.utf8)),
                    ("PRIORITY", Array("6".utf8)),
                    ("MESSAGE", Array("entry \(n) \(padding)".utf8)),
                ], to: &export)
        }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let input = directory + "/.export"
        try Data(export).write(to: URL(fileURLWithPath: input))
        defer { try? FileManager.default.removeItem(atPath: input) }
        let arguments: [String] = [journalRemote, "--output=\(directory)/\(file)", "-"]
        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for argument in argv { free(argument) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, input, O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        var pid = pid_t()
        #expect(posix_spawn(&pid, journalRemote, &actions, nil, argv, environ) == 0)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0, errno == EINTR {}
        #expect(status == 0)
    }

    static func config(directory: String, group: String) -> String {
        """
        agent:
          flush_interval: 60s
          health_address: off
        sources:
          journald:
            directory: \(directory)
            start: head
            log_group: \(group)/{unit}
            log_stream: "{host}"
            batch_age: 1s
        delivery:
          request_timeout: 3s
          connect_timeout: 1s
          shutdown_timeout: 5s
        """
    }

    static func startAgent(config: String, spool: String, endpoint: String) throws -> ChildProcess {
        var environment = TestServices.awsEnvironment
        environment["AWS_ENDPOINT_URL_CLOUDWATCH_LOGS"] = endpoint
        environment["OBS_SPOOL_DIR"] = spool
        return try ChildProcess(
            TestServices.agentPath, ["--config", config], environment: TestServices.cleanEnvironment(environment))
    }

    /// What landed in each unit's group, as entry numbers in the order the endpoint returns them.
    static func landed(group: String, units: [String] = units) async throws -> [String: [Int]] {
        let reader = TestServices.repositoryRoot.appendingPathComponent("scripts/lib/aws_read.py").path
        var result: [String: [Int]] = [:]
        for unit in units {
            let (status, out, _) = try await ChildProcess.run(
                "/usr/bin/env", ["python3", reader, TestServices.awsEndpoint, "logs", "\(group)/\(unit)", "node-1"],
                environment: TestServices.cleanEnvironment())
            guard status == 0, let events = try? JSONSerialization.jsonObject(with: Data(out.utf8)) as? [[String: Any]]
            else {
                result[unit] = []
                continue
            }
            result[unit] = events.compactMap {
                ($0["message"] as? String)?.split(separator: " ").dropFirst().first.flatMap { Int($0) }
            }
        }
        return result
    }

    /// Checks one unit's landed entries: all of `expected`, in order, duplicates only as runs.
    static func check(_ landed: [Int], expected: [Int], unit: String) -> Int {
        var seen = Set<Int>()
        var firsts: [Int] = []
        for n in landed where seen.insert(n).inserted { firsts.append(n) }
        #expect(
            firsts == expected,
            "\(unit): every entry once at least, in journal order (\(firsts.count) of \(expected.count))")
        return landed.count - firsts.count
    }

    @Test func sigkillWhileShippingAndAnOutageLoseNothing() async throws {
        let proxy = try await FaultProxy(target: TestServices.awsEndpoint, hang: 5)
        let directory = TestServices.temporaryDirectory("journal")
        let spool = TestServices.temporaryDirectory("spool")
        let group = "/obs-test/\(UUID().uuidString.prefix(8))"
        let base = UInt64(Date().timeIntervalSince1970 * 1_000_000) - 3_600_000_000
        let first = 30_000
        try Self.writeJournal(0..<first, to: directory, base: base, file: "one.journal")
        let config = try TestServices.writeTemporary(Self.config(directory: directory, group: group))
        defer {
            try? FileManager.default.removeItem(atPath: directory)
            try? FileManager.default.removeItem(atPath: spool)
            try? FileManager.default.removeItem(atPath: config)
        }

        // Killed while shipping, again and again: each time right after the endpoint accepted a
        // request of this run (in the first, past creating the group and stream), after a random
        // pause, so that restarts resume from saved cursors with more to send.
        let kills = 4
        var generator = SystemRandomNumberGenerator()
        for round in 0..<kills {
            let acceptedBefore = try await proxy.stats().outcomes["forwarded_ok", default: 0]
            let agent = try Self.startAgent(config: config, spool: spool, endpoint: proxy.url)
            #expect(await agent.waitForOutput(containing: "obs-agent starting", timeout: 20), "round \(round)")
            let progressDeadline = Date().addingTimeInterval(20)
            while try await proxy.stats().outcomes["forwarded_ok", default: 0] < acceptedBefore + (round == 0 ? 3 : 1),
                Date() < progressDeadline
            {
                try await Task.sleep(for: .milliseconds(20))
            }
            try await Task.sleep(for: .milliseconds(Int.random(in: 0...150, using: &generator)))
            kill(agent.process.processIdentifier, SIGKILL)
            _ = await agent.wait(timeout: 10)
        }

        let afterKills = try await Self.landed(group: group).values.map(\.count).reduce(0, +)
        print("journal end-to-end: \(afterKills) of \(first) entries had landed when the kills were over")
        #expect(afterKills > 0, "the kills came after entries were accepted")

        // The endpoint is down while more entries are written; then it comes back.
        let agent = try Self.startAgent(config: config, spool: spool, endpoint: proxy.url)
        try await proxy.set("503")
        try Self.writeJournal(first..<(first + 3_000), to: directory, base: base, file: "two.journal")
        try await Task.sleep(for: .seconds(6))
        try await proxy.set("ok")
        let total = first + 3_000
        var landed: [String: [Int]] = [:]
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline {
            landed = try await Self.landed(group: group)
            if landed.values.map({ Set($0).count }).reduce(0, +) >= total { break }
            try await Task.sleep(for: .seconds(1))
        }
        kill(agent.process.processIdentifier, SIGTERM)
        #expect(await agent.wait(timeout: 30) == 0)
        #expect(!agent.stderr.contains("testing-secret-key") && !agent.stdout.contains("testing-secret-key"))

        var duplicates = 0
        for (i, unit) in Self.units.enumerated() {
            duplicates += Self.check(landed[unit] ?? [], expected: Array(stride(from: i, to: total, by: 3)), unit: unit)
        }
        // A batch holds at most 1,048,576 bytes at (at least 570 + 26) each: 1,759 of these entries.
        #expect(duplicates <= kills * 1_759, "at most the batch in flight at each kill twice: \(duplicates) entries")
        print("journal end-to-end: \(total) entries landed, \(duplicates) twice")
        let stats = try await proxy.stats()
        #expect(stats.outcomes["503", default: 0] > 0, "the outage was seen: \(stats.outcomes)")
        await proxy.stop()
    }
}
