import Foundation
import Logging
import ObsAWS
import ObsCatalog
import ObsCore
import ObsNet
import Testing

@testable import ObsJournal

/// The journal source on real journal files: what it ships, where, in which order, and how its
/// cursor survives a restart, a failing endpoint and a vacuumed journal.
@Suite(
    .enabled(if: JournalFixture.available, "needs /lib/systemd/systemd-journal-remote (scripts/test installs it)"),
    .serialized)
struct JournalSourceTests {
    static func settings(_ directory: String, _ configure: (inout JournalSettings) -> Void = { _ in })
        -> JournalSettings
    {
        var settings = JournalSettings(stateFile: directory + "-state/journald.state")
        try? FileManager.default.createDirectory(atPath: directory + "-state", withIntermediateDirectories: true)
        settings.directory = directory
        settings.start = .head
        settings.batchAge = 0.2
        configure(&settings)
        return settings
    }

    /// Runs `source` until `done` holds (or 60 s), then finishes it.
    static func run(_ source: JournalSource, until done: @escaping @Sendable () -> Bool) async -> Bool {
        let task = Task { await source.run() }
        // Generous: each use expects the condition, and a loaded machine can hold back the
        // test's own tasks for tens of seconds; only a failing run waits this long.
        let reached = await eventually(60, done)
        task.cancel()
        await task.value
        await source.finish(within: 5)
        return reached
    }

    static let fast = RetryPolicy(baseBackoff: 0.01, maxBackoff: 0.05)

    @Test func shipsEveryEntryToItsGroupAndStreamInOrder() async throws {
        let directory = JournalFixture.temporaryDirectory()
        defer {
            try? FileManager.default.removeItem(atPath: directory)
            try? FileManager.default.removeItem(atPath: directory + "-state")
        }
        let base = JournalFixture.now - 60_000_000
        let units = ["user-service.service", "product-service.service", "keycloak.service"]
        var entries: [JournalFixture.Entry] = []
        for i in 0..<600 {
            entries.append(
                JournalFixture.entry(
                    i, unit: units[i % 3], message: "line \(i) of \(units[i % 3])", realtime: base + UInt64(i) * 1000))
        }
        // CR and LF inside a message stay data; invalid UTF-8 becomes U+FFFD.
        entries.append(
            .init(
                realtime: base + 700_000,
                bytes: [
                    ("_HOSTNAME", Array("host-a".utf8)), ("_SYSTEMD_UNIT", Array("user-service.service".utf8)),
                    ("SYSLOG_IDENTIFIER", Array("user-service".utf8)),
                    ("MESSAGE", Array("first\r\nsecond \u{22}quoted\u{22}\t".utf8) + [0xFF, 0x41]),
                ]))
        try JournalFixture.write(entries, to: directory)

        let recorder = Recorder()
        let sender = RecordingLogSender()
        let source = JournalSource(
            settings: Self.settings(directory) {
                $0.logGroup = "/ecs/{cluster}/{unit}"
                $0.cluster = "prod"
                $0.logStream = "{host}/{identifier}"
            },
            recorder: recorder, sender: sender, retry: Self.fast, logger: Logger(label: "test"))
        #expect(await Self.run(source) { sender.messages.count == 601 })

        #expect(sender.sent.allSatisfy { $0.bodyValid })
        let groups = Set(sender.sent.map(\.group))
        #expect(
            groups == [
                "/ecs/prod/user-service.service", "/ecs/prod/product-service.service", "/ecs/prod/keycloak.service",
            ])
        for unit in units {
            let name = String(unit.split(separator: ".")[0])
            let stream = sender.sent.filter { $0.group == "/ecs/prod/\(unit)" }
            #expect(Set(stream.map(\.stream)) == ["host-a/\(name)"])
            let messages = stream.flatMap { $0.events.map(\.message) }.filter { $0.hasPrefix("line ") }
            #expect(
                messages == (0..<600).filter { units[$0 % 3] == unit }.map { "line \($0) of \(unit)" },
                "in journal order")
            let times = stream.flatMap { $0.events.map(\.timestamp) }
            #expect(times == times.sorted())
        }
        #expect(sender.messages.contains("first\r\nsecond \"quoted\"\t\u{FFFD}A"))
        let first = try #require(sender.sent.flatMap(\.events).first { $0.message == "line 0 of user-service.service" })
        #expect(first.timestamp == Int64(base / 1000))
        // Accepted: the saved state resumes after the last entry.
        let state = try #require(try JournalState.load(from: source.settings.stateFile))
        #expect(state.resume != nil)
    }

    @Test func matchesSelectUnitsIdentifiersAndPriorityAndJSONCarriesTheChosenFields() async throws {
        let directory = JournalFixture.temporaryDirectory()
        defer {
            try? FileManager.default.removeItem(atPath: directory)
            try? FileManager.default.removeItem(atPath: directory + "-state")
        }
        let base = JournalFixture.now - 60_000_000
        var entries: [JournalFixture.Entry] = []
        for i in 0..<40 {
            let unit = ["a.service", "b.service", "c.service", "d.service"][i % 4]
            entries.append(
                JournalFixture.entry(
                    i, unit: unit, message: "m\(i)", realtime: base + UInt64(i) * 1000, priority: i % 8))
        }
        try JournalFixture.write(entries, to: directory)
        let sender = RecordingLogSender()
        let source = JournalSource(
            settings: Self.settings(directory) {
                $0.units = ["a.service"]
                $0.identifiers = ["b"]
                $0.maxPriority = 4
                $0.format = .json
                $0.fields = ["MESSAGE", "PRIORITY", "_SYSTEMD_UNIT"]
            },
            recorder: Recorder(), sender: sender, retry: Self.fast, logger: Logger(label: "test"))
        let expected = (0..<40).filter { ($0 % 4 == 0 || $0 % 4 == 1) && $0 % 8 <= 4 }
        #expect(await Self.run(source) { sender.messages.count == expected.count })
        try await Task.sleep(for: .milliseconds(300))
        #expect(sender.messages.count == expected.count, "nothing else")
        let objects = sender.messages.compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: String]
        }
        #expect(Set(objects.compactMap { $0["MESSAGE"] }) == Set(expected.map { "m\($0)" }))
        #expect(objects.allSatisfy { Set($0.keys) == ["MESSAGE", "PRIORITY", "_SYSTEMD_UNIT"] })
    }

    @Test func theCursorIsSavedOnlyAfterAcceptanceAndARestartSendsNothingTwice() async throws {
        let directory = JournalFixture.temporaryDirectory()
        defer {
            try? FileManager.default.removeItem(atPath: directory)
            try? FileManager.default.removeItem(atPath: directory + "-state")
        }
        let base = JournalFixture.now - 60_000_000
        try JournalFixture.write(
            (0..<300).map {
                JournalFixture.entry(
                    $0, unit: $0 % 2 == 0 ? "a.service" : "b.service", message: "first \($0)",
                    realtime: base + UInt64($0) * 1000)
            },
            to: directory)
        let settings = Self.settings(directory)

        // The endpoint fails: nothing is accepted, the state does not move past the start.
        let failing = RecordingLogSender()
        failing.fail(next: .max)
        let first = JournalSource(
            settings: settings, recorder: Recorder(), sender: failing, retry: Self.fast, logger: Logger(label: "test"))
        #expect(await Self.run(first) { failing.attempts >= 5 })
        #expect(failing.sent.isEmpty)
        #expect(try JournalState.load(from: settings.stateFile)?.resume == nil, "nothing accepted, nothing saved")

        // A new run sends everything, once.
        let sender = RecordingLogSender()
        let second = JournalSource(
            settings: settings, recorder: Recorder(), sender: sender, retry: Self.fast, logger: Logger(label: "test"))
        #expect(await Self.run(second) { sender.messages.count == 300 })

        // More entries; a third run sends only those.
        try JournalFixture.write(
            (300..<400).map {
                JournalFixture.entry(
                    $0, unit: $0 % 2 == 0 ? "a.service" : "b.service", message: "then \($0)",
                    realtime: base + UInt64($0) * 1000)
            },
            to: directory)
        let third = RecordingLogSender()
        let source = JournalSource(
            settings: settings, recorder: Recorder(), sender: third, retry: Self.fast, logger: Logger(label: "test"))
        #expect(await Self.run(source) { third.messages.count == 100 })
        try await Task.sleep(for: .milliseconds(300))
        #expect(third.messages.sorted() == (300..<400).map { "then \($0)" }.sorted())
    }

    @Test func aStreamAheadOfTheResumePointIsNotSentAgain() async throws {
        // Stream a's batch is accepted while stream b's, opened earlier, is not: after a restart
        // a's entries are skipped and b's sent.
        var tracker = JournalSource.Tracker()
        tracker.outstanding = [1: "s=aa;i=1;b=bb;m=1;t=1;x=0"]
        tracker.streams = ["g\ta": "s=aa;i=5;b=bb;m=5;t=5;x=0", "g\tc": "s=aa;i=1;b=bb;m=1;t=1;x=0"]
        let state = JournalSource.state(of: &tracker)
        #expect(state.resume == "s=aa;i=1;b=bb;m=1;t=1;x=0")
        #expect(
            state.streams == ["g\ta": "s=aa;i=5;b=bb;m=5;t=5;x=0"], "a stream at or before the resume point is not kept"
        )
    }

    @Test func anEntryWithoutAMessageIsLookedAtAgainThenCountedAndReadingGoesOn() async throws {
        let directory = JournalFixture.temporaryDirectory()
        defer {
            try? FileManager.default.removeItem(atPath: directory)
            try? FileManager.default.removeItem(atPath: directory + "-state")
        }
        let base = JournalFixture.now - 60_000_000
        var entries = (0..<20).map {
            JournalFixture.entry($0, unit: "a.service", message: "line \($0)", realtime: base + UInt64($0) * 1000)
        }
        // Structured entries may carry no MESSAGE (sd_journal_send with other fields only).
        for k in [5, 12] {
            entries.insert(
                .init(
                    realtime: base + UInt64(k) * 1000 + 500,
                    bytes: [("_SYSTEMD_UNIT", Array("a.service".utf8)), ("CODE_FILE", Array("x.c".utf8))]),
                at: k + 1 + (k == 12 ? 1 : 0))
        }
        try JournalFixture.write(entries, to: directory)
        let recorder = Recorder()
        let sender = RecordingLogSender()
        let source = JournalSource(
            settings: Self.settings(directory), recorder: recorder, sender: sender, retry: Self.fast,
            logger: Logger(label: "test"))
        #expect(await Self.run(source) { sender.messages.count == 20 })
        #expect(sender.messages == (0..<20).map { "line \($0)" })
        #expect(recorder.selfMetrics[.journalEntryWithoutMessage] == 2, "counted as dropped, after a second look")
        #expect(recorder.selfMetrics[.journalEntryReread] == 0)
        #expect(SelfMetrics.Reason.journalEntryWithoutMessage.isDrop)
    }

    @Test func aVacuumedJournalIsAGapThatIsCountedAndReadingGoesOn() async throws {
        let directory = JournalFixture.temporaryDirectory()
        defer {
            try? FileManager.default.removeItem(atPath: directory)
            try? FileManager.default.removeItem(atPath: directory + "-state")
        }
        let base = JournalFixture.now - 60_000_000
        try JournalFixture.write(
            (0..<50).map {
                JournalFixture.entry($0, unit: "a.service", message: "old \($0)", realtime: base + UInt64($0) * 1000)
            }, to: directory, name: "one.journal")
        let settings = Self.settings(directory)
        let sender = RecordingLogSender()
        let recorder = Recorder()
        let first = JournalSource(
            settings: settings, recorder: recorder, sender: sender, retry: Self.fast, logger: Logger(label: "test"))
        #expect(await Self.run(first) { sender.messages.count == 50 })

        // Entries written while the agent is down, then the old file vacuumed.
        try JournalFixture.write(
            (50..<80).map {
                JournalFixture.entry($0, unit: "a.service", message: "new \($0)", realtime: base + UInt64($0) * 1000)
            }, to: directory, name: "two.journal")
        try FileManager.default.removeItem(atPath: directory + "/one.journal")
        let after = RecordingLogSender()
        let again = Recorder()
        let second = JournalSource(
            settings: settings, recorder: again, sender: after, retry: Self.fast, logger: Logger(label: "test"))
        #expect(await Self.run(second) { after.messages.count == 30 })
        #expect(after.messages == (50..<80).map { "new \($0)" })
        #expect(again.selfMetrics[.journalGap] >= 1, "the gap is counted")
    }

    @Test func startAtTailShipsOnlyWhatComesAfter() async throws {
        let directory = JournalFixture.temporaryDirectory()
        defer {
            try? FileManager.default.removeItem(atPath: directory)
            try? FileManager.default.removeItem(atPath: directory + "-state")
        }
        let base = JournalFixture.now - 60_000_000
        try JournalFixture.write(
            (0..<20).map {
                JournalFixture.entry($0, unit: "a.service", message: "before \($0)", realtime: base + UInt64($0) * 1000)
            }, to: directory)
        let sender = RecordingLogSender()
        let source = JournalSource(
            settings: Self.settings(directory) { $0.start = .tail }, recorder: Recorder(), sender: sender,
            retry: Self.fast, logger: Logger(label: "test"))
        let task = Task { await source.run() }
        #expect(await eventually { (try? JournalState.load(from: source.settings.stateFile)) != nil })
        try JournalFixture.write(
            (20..<25).map {
                JournalFixture.entry($0, unit: "a.service", message: "after \($0)", realtime: base + UInt64($0) * 1000)
            }, to: directory)
        #expect(await eventually { sender.messages.count == 5 })
        task.cancel()
        await task.value
        await source.finish(within: 2)
        #expect(sender.messages == (20..<25).map { "after \($0)" })
    }

    @Test func startAtATimeShipsFromTheFirstEntryWrittenThen() async throws {
        let directory = JournalFixture.temporaryDirectory()
        defer {
            try? FileManager.default.removeItem(atPath: directory)
            try? FileManager.default.removeItem(atPath: directory + "-state")
        }
        let base = JournalFixture.now - 60_000_000
        try JournalFixture.write(
            (0..<30).map {
                JournalFixture.entry($0, unit: "a.service", message: "m\($0)", realtime: base + UInt64($0) * 1_000_000)
            }, to: directory)
        let sender = RecordingLogSender()
        let source = JournalSource(
            settings: Self.settings(directory) { $0.start = .time(base + 12_000_000) }, recorder: Recorder(),
            sender: sender, retry: Self.fast,
            logger: Logger(label: "test"))
        #expect(await Self.run(source) { sender.messages.count == 18 })
        #expect(sender.messages == (12..<30).map { "m\($0)" })
    }

    @Test func keycloakEventLinesBecomeAuthMetricsWithDistinctFailingUsersAndAddresses() async throws {
        let directory = JournalFixture.temporaryDirectory()
        defer {
            try? FileManager.default.removeItem(atPath: directory)
            try? FileManager.default.removeItem(atPath: directory + "-state")
        }
        let base = JournalFixture.now - 5_000_000
        let prefix = "2026-11-27 10:00:00,123 WARN  [org.keycloak.events] (executor-thread-1) "
        let lines = [
            prefix
                + "type=LOGIN, realmId=shop, clientId=frontend, userId=u1, ipAddress=10.0.0.1, auth_method=openid-connect, username=alice",
            prefix
                + "type=LOGIN_ERROR, realmId=shop, clientId=frontend, userId=null, ipAddress=10.0.0.2, error=invalid_user_credentials, username=bob",
            prefix
                + "type=\"LOGIN_ERROR\", realmId=\"shop\", clientId=\"frontend\", userId=\"null\", ipAddress=\"10.0.0.2\", error=\"invalid_user_credentials\", username=\"carol\"",
            prefix
                + "type=\"LOGIN_ERROR\", realmId=\"shop\", clientId=\"frontend\", userId=\"null\", ipAddress=\"10.0.0.3\", error=\"user_not_found\", username=\"bob\"\n\tat org.keycloak.Foo.bar(Foo.java:1)",
            "\tat org.keycloak.events.EventBuilder.send(EventBuilder.java:200)",
            prefix + "type=CODE_TO_TOKEN, realmId=shop, clientId=frontend, userId=u1, ipAddress=10.0.0.1",
            "an ordinary line",
        ]
        try JournalFixture.write(
            lines.enumerated().map {
                JournalFixture.entry(
                    $0.offset, unit: "keycloak.service", message: $0.element, realtime: base + UInt64($0.offset) * 1000)
            }, to: directory)
        let recorder = Recorder()
        let aggregator = Aggregator(recorder: recorder)
        let sender = RecordingLogSender()
        let source = JournalSource(
            settings: Self.settings(directory), recorder: recorder, sender: sender, retry: Self.fast,
            logger: Logger(label: "test"))
        #expect(await Self.run(source) { sender.messages.count == lines.count })
        let data = aggregator.flush(timestamp: 0)
        func sum(_ name: String, _ dimensions: [String: String]) -> Double {
            data.filter { $0.descriptor.name == name && $0.dimensions == Dimensions(dimensions) }.reduce(0) {
                total, datum in
                switch datum.value {
                case .single(let v): return total + v
                case .statistics(let s), .distribution(let s, _): return total + s.sum
                }
            }
        }
        #expect(sum("LoginSuccess", ["Realm": "shop", "Client": "frontend"]) == 1)
        #expect(
            sum("LoginFailure", ["Realm": "shop", "Client": "frontend", "Reason": "invalid_user_credentials"]) == 2)
        #expect(sum("LoginFailure", ["Realm": "shop", "Client": "frontend", "Reason": "user_not_found"]) == 1)
        #expect(sum("FailingUsers", ["Realm": "shop"]) == 2, "bob and carol")
        #expect(sum("FailingAddresses", ["Realm": "shop"]) == 2, "10.0.0.2 and 10.0.0.3")
        #expect(sum("AuthEvents", ["Realm": "shop", "Client": "frontend", "Event": "code_to_token"]) == 1)
        let rate = data.first {
            $0.descriptor.name == "AuthFailureRate"
                && $0.dimensions == Dimensions(["Realm": "shop", "Client": "frontend"])
        }
        if case .statistics(let s)? = rate?.value {
            #expect(s.average == 75, "3 failures of 4 attempts")
        } else if case .distribution(let s, _)? = rate?.value {
            #expect(s.average == 75, "3 failures of 4 attempts")
        } else {
            Issue.record("no failure rate: \(String(describing: rate))")
        }
    }

    @Test func accessLogLinesBecomeAPIMetrics() async throws {
        let directory = JournalFixture.temporaryDirectory()
        defer {
            try? FileManager.default.removeItem(atPath: directory)
            try? FileManager.default.removeItem(atPath: directory + "-state")
        }
        let base = JournalFixture.now - 5_000_000
        let lines = [
            "10.0.0.9 - - [27/Nov/2026:10:00:00 +0000] \"GET /api/products/42?x=1 HTTP/1.1\" 200 512 12000",
            "10.0.0.9 - - [27/Nov/2026:10:00:01 +0000] \"GET /api/products/43 HTTP/1.1\" 200 512 18000",
            "10.0.0.9 - - [27/Nov/2026:10:00:02 +0000] \"POST /api/orders HTTP/1.1\" 503 0 250000",
            "10.0.0.9 - - [27/Nov/2026:10:00:03 +0000] \"GET /api/products/44 HTTP/1.1\" 429 0 1000",
            "not an access line",
        ]
        try JournalFixture.write(
            lines.enumerated().map {
                JournalFixture.entry(
                    $0.offset, unit: "product-service.service", message: $0.element,
                    realtime: base + UInt64($0.offset) * 1000)
            }, to: directory)
        let recorder = Recorder()
        let aggregator = Aggregator(recorder: recorder)
        let sender = RecordingLogSender()
        let pattern = try AccessLogPattern(
            #"^\S+ \S+ \S+ \[[^\]]+\] "(?<method>[A-Z]+) (?<path>\S+)[^"]*" (?<status>\d{3}) \S+ (?<micros>\d+)"#)
        let source = JournalSource(
            settings: Self.settings(directory) {
                $0.accessLog = pattern
                $0.accessLogService = "{identifier}"
            }, recorder: recorder, sender: sender,
            retry: Self.fast, logger: Logger(label: "test"))
        #expect(await Self.run(source) { sender.messages.count == lines.count })
        let data = aggregator.flush(timestamp: 0)
        // The route's 200s and its 429 share one series: no status class dimension.
        let products = ["Service": "product-service", "Method": "GET", "Route": "/api/products/{id}"]
        let latency = data.first { $0.descriptor.name == "Latency" && $0.dimensions == Dimensions(products) }
        if case .statistics(let s)? = latency?.value {
            #expect(s.sampleCount == 3 && s.minimum == 1 && s.maximum == 18, "microseconds read as milliseconds")
        } else if case .distribution(let s, _)? = latency?.value {
            #expect(s.sampleCount == 3 && s.minimum == 1 && s.maximum == 18, "microseconds read as milliseconds")
        } else {
            Issue.record("no latency: \(String(describing: latency))")
        }
        func single(_ name: String, _ dimensions: [String: String]) -> Double? {
            guard
                case .single(let v)? = data.first(where: {
                    $0.descriptor.name == name && $0.dimensions == Dimensions(dimensions)
                })?.value
            else { return nil }
            return v
        }
        #expect(
            single(
                "Faults",
                ["Service": "product-service", "Method": "POST", "Route": "/api/orders"]) == 1)
        #expect(single("Throttles", products) == 1)
        #expect(single("Errors", products) == 1)
        #expect(single("Requests", products) == 3)
        #expect(single("Faults", products) == 0, "a route without 5xx has a zero Faults series, for error-rate math")
    }
}

struct StreamKeyTests {
    @Test func theFieldsComeBackFromTheirKey() {
        var key: [UInt8] = []
        let values: [(JournalSource.FieldName, String)] = [
            (.unit, "user-service.service"), (.identifier, "java"), (.host, "ip-10-0-1-23"), (.container, ""),
            (.machine, String(repeating: "m", count: 300)), (.identifier, "keycloak"),
        ]
        for (field, value) in values {
            var copy = value
            copy.withUTF8 { JournalSource.StreamFields.append(field, UnsafeRawBufferPointer($0), to: &key) }
        }
        let fields = JournalSource.StreamFields(key: key)
        #expect(fields.unit == "user-service.service" && fields.host == "ip-10-0-1-23" && fields.container.isEmpty)
        #expect(fields.machine.count == 300 && fields.identifier == "keycloak", "a field given twice: the last one")
        #expect(JournalSource.StreamFields(key: Array(key.prefix(7))).unit == "us", "a cut key gives what it holds")
        #expect(JournalSource.StreamFields(key: []) == JournalSource.StreamFields())
    }
}

/// The budget that bounds how long the reader waits on entries that read without a message.
struct WaitBudgetTests {
    @Test func waitsAreGrantedUpToTheBudgetAndItRefillsOverAMinute() {
        var budget = WaitBudget(secondsPerMinute: 1)
        var granted: [Bool] = []
        for (seconds, now) in [
            (0.5, 100.0), (0.4, 100), (0.2, 100), (0.1, 100), (0.001, 100), (0.25, 115), (0.01, 115), (1, 1000),
            (0.001, 1000),
        ] {
            granted.append(budget.take(seconds, now: now))
        }
        // 0.1 s left after the first two; 15 s refill a quarter of it; a long pause refills it
        // whole, never more.
        #expect(granted == [true, true, false, true, false, true, false, true, false])
    }
}
