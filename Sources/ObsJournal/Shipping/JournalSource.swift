import FoundationEssentials
import Logging
import ObsAWS
import ObsCore
import ObsSource
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Reads the journal in process and ships it to CloudWatch Logs, with no gap and no loss.
///
/// A reader thread steps through the journal (libsystemd), turns each entry into a log event of
/// its log group and stream (from the templates), and adds it to that stream's open batch
/// (``LogBatchBuilder``); a batch is closed when the next event does not fit, when it is
/// ``JournalSettings/batchAge`` old, or when the reader reaches the journal's end and it has
/// waited a second. Closed batches go through a short queue to the sender, which sends them one
/// at a time with the AWS retry policy and never gives up on a retryable failure; when the queue
/// is full the reader waits (the journal itself holds what is not read yet).
///
/// The journal is the spool: no batch is written to disk. The cursor is saved (``JournalState``)
/// only once CloudWatch Logs accepted the entries, so after a crash reading resumes after the last
/// accepted entry and at most the batches in flight are sent again. A cursor that no longer
/// exists (the journal was vacuumed under the agent) is detected and the entries lost between it
/// and the oldest entry left are counted (`journal_gap`).
public final class JournalSource: @unchecked Sendable {
    package let settings: JournalSettings
    private let recorder: Recorder
    private let outlet: any BatchOutlet
    private let logger: Logger
    private let metrics: LogLineMetrics
    private let queue = BatchQueue(capacity: 2)
    private let tracker = Mutex(Tracker())
    private let stopping = StopFlag()
    private let readerDone = Atomic<Bool>(false)
    private let entriesRead = Atomic<Int>(0)
    private let entriesAccepted = Atomic<Int>(0)
    private let batchesAccepted = Atomic<Int>(0)
    private let started = Atomic<Bool>(false)
    /// Reader thread only: the cursor of the last entry read, the next batch's serial, the open
    /// batches by stream key, the names of each stream, and (after a restart) per stream the
    /// accepted position its entries are skipped up to. They outlive a reopening of the journal.
    private var lastReadCursor: String?
    private var hasRead = false
    private var nextSerial = 1
    private var open: [String: OpenBatch] = [:]
    /// Each stream's names by the raw bytes of the fields that name it (``StreamKey``), so
    /// that an entry of a known stream makes no strings.
    private var names: [StreamKey: StreamNames] = [:]
    private var skip: [String: JournalPosition] = [:]
    /// The journal is closed and opened again after this many entries, so that the files
    /// libsystemd maps (its window cache grows to hundreds of MiB on a large journal) stay a few
    /// MiB resident.
    /// The longest an idle reader waits before it looks for new entries itself (one
    /// `sd_journal_next` call).
    static let idleRecheck = 2.0
    static let reopenEvery = 10_000
    /// The waits of looking again at entries that read without a message: a second a minute.
    private var rereadWaits = WaitBudget(secondsPerMinute: 1)
    /// Between reopenings, the journal pages read so far are released from the agent's resident
    /// memory after this many entries (``JournalReader/releaseMappedPages()``). Measured on a
    /// 1,000,000-entry journal (BENCHMARKS.md): every 1,000 entries the agent peaks at 36.7 MB and
    /// the reader spends about a fifth more time (it faults back the pages every entry shares);
    /// every 2,000, 39.7 MB; every 4,000, 45 MB (before the agent's linking saved 1.2 MB); never,
    /// 19 MB of journal pages stay resident instead of 0.6 MB.
    static let releaseEvery = 1_000

    /// A closed batch, waiting to be sent or being sent.
    struct ClosedBatch {
        var serial: Int
        var key: String
        var group: String
        var stream: String
        var events: Int
        var body: [UInt8]
        var lastCursor: String
    }

    /// Which entries are accepted: batches not yet accepted (by the order they were opened in),
    /// and per stream its last accepted cursor.
    struct Tracker {
        /// Serial → the cursor of the entry read just before the batch's first (nil: none).
        var outstanding: [Int: String?] = [:]
        /// The cursor of the last entry read when the reader last stood at the journal's end with
        /// no open batch.
        var idleCursor: String?
        var streams: [String: String] = [:]
        /// What was last written to the state file.
        var saved: JournalState?
    }

    /// - Parameter outlet: sends each closed batch until it is accepted (the agent's is a
    ///   `BatchDeliverer` with PutLogEvents, or the dry run's printout).
    public init(settings: JournalSettings, recorder: Recorder, outlet: any BatchOutlet, logger: Logger) {
        self.settings = settings
        self.recorder = recorder
        self.outlet = outlet
        self.logger = logger
        self.metrics = LogLineMetrics(recorder: recorder, flushInterval: settings.flushInterval)
    }

    /// Entries read, and accepted by CloudWatch Logs, since the start; batches accepted.
    public var counts: (read: Int, accepted: Int, batches: Int) {
        (
            entriesRead.load(ordering: .relaxed), entriesAccepted.load(ordering: .relaxed),
            batchesAccepted.load(ordering: .relaxed)
        )
    }

    /// Opens the journal, reads the newest entry the matches select and the saved state: what
    /// `obs-agent check` reports. Throws when the journal or the state cannot be read.
    package static func check(_ settings: JournalSettings) throws -> String {
        let reader = try JournalReader(settings.directory.map { .directory($0) } ?? .local)
        try applyMatches(settings, reader)
        try reader.seekTail()
        let newest =
            try reader.previous()
            ? Date(timeIntervalSince1970: Double(try reader.realtimeMicroseconds()) / 1_000_000) : nil
        let state = settings.stateFile.isEmpty ? nil : try JournalState.load(from: settings.stateFile)
        return "\(newest.map { "newest matching entry \($0)" } ?? "no matching entry yet"); "
            + (state == nil ? "first start (\(settings.start))" : "resumes after the saved cursor")
    }

    /// Reads and ships until the task is cancelled. Then call ``finish(within:)``.
    public func run() async {
        if started.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged {
            OSThread.start(name: "obs-journal") { [self] in
                readLoop()
                readerDone.store(true, ordering: .releasing)
            }
        }
        await sendLoop(deadline: nil)
    }

    /// Reads no more, closes the open batches and sends what it can within `seconds`. What is not
    /// sent is read again at the next start.
    public func finish(within seconds: Double) async {
        stopping.set()
        queue.close()
        if started.load(ordering: .relaxed) {
            await sendLoop(deadline: ContinuousClock.now + .seconds(seconds))
            while !readerDone.load(ordering: .acquiring) { try? await Task.sleep(for: .milliseconds(10)) }
        }
        let (read, accepted, batches) = counts
        let left = queue.count
        logger.info(
            "journal stopped",
            metadata: [
                "entries.read": "\(read)", "entries.accepted": "\(accepted)", "batches": "\(batches)",
                "batches.left": "\(left)",
            ])
    }

    // MARK: Sending

    /// Sends batches until cancelled (no deadline) or, at shutdown, until the reader is done and
    /// the queue empty, or the deadline passes.
    private func sendLoop(deadline: ContinuousClock.Instant?) async {
        while true {
            if deadline == nil, Task.isCancelled { return }
            if let deadline, ContinuousClock.now >= deadline { return }
            guard let batch = queue.pop() else {
                if deadline != nil, readerDone.load(ordering: .acquiring), queue.isEmpty { return }
                // Woken by the reader's push; the long timeout is only a safety net.
                await queue.waitForItems(timeout: deadline == nil ? 60 : 0.05)
                continue
            }
            if await send(batch, deadline: deadline) == false {
                queue.pushFront(batch)
                return
            }
        }
    }

    /// Sends one batch through the outlet until it is accepted or refused for good. Returns false
    /// when it stopped trying (cancelled, or the deadline passed): the batch is not accepted.
    private func send(_ batch: ClosedBatch, deadline: ContinuousClock.Instant?) async -> Bool {
        let spooled = SpooledBatch(
            kind: LogBatchBuilder.batchKind, created: Int64(Date().timeIntervalSince1970), items: batch.events,
            attributes: ["group": batch.group, "stream": batch.stream], payload: batch.body)
        guard await outlet.deliver(spooled, deadline: deadline) else { return false }
        accepted(batch)
        return true
    }

    /// Records `batch` as accepted and saves the state it leads to.
    private func accepted(_ batch: ClosedBatch) {
        let state = tracker.withLock { tracker -> JournalState? in
            tracker.outstanding[batch.serial] = nil
            tracker.streams[batch.key] = batch.lastCursor
            return Self.changedState(of: &tracker)
        }
        entriesAccepted.add(batch.events, ordering: .relaxed)
        batchesAccepted.add(1, ordering: .relaxed)
        recorder.health.report("journald", ok: true)
        if let state { save(state) }
    }

    /// The reader stands at the journal's end with no open batch: every entry up to `cursor` is
    /// accepted or in a batch not yet accepted. When nothing is outstanding, the resume point moves
    /// to `cursor` and is saved (else a restart would read again from an older point).
    private func reachedEnd(at cursor: String) {
        let state = tracker.withLock { tracker -> JournalState? in
            tracker.idleCursor = cursor
            return tracker.outstanding.isEmpty ? Self.changedState(of: &tracker) : nil
        }
        if let state { save(state) }
    }

    /// The state to save, when it differs from what was saved last.
    static func changedState(of tracker: inout Tracker) -> JournalState? {
        let state = Self.state(of: &tracker)
        guard state != tracker.saved else { return nil }
        tracker.saved = state
        return state
    }

    private func save(_ state: JournalState) {
        guard settings.savesState else { return }
        do {
            try state.save(to: settings.stateFile)
        } catch {
            logger.error("journal cursor not saved", metadata: ["error": "\(error)"])
        }
    }

    /// The state to save: resume after the entry before the oldest outstanding batch; keep the
    /// cursors of streams that lie past that point.
    static func state(of tracker: inout Tracker) -> JournalState {
        let resume: String?
        if let oldest = tracker.outstanding.keys.min() {
            resume = tracker.outstanding[oldest]!
        } else {
            resume = tracker.idleCursor
        }
        if let resume, let position = JournalPosition(cursor: resume) {
            tracker.streams = tracker.streams.filter { _, cursor in
                guard let streamPosition = JournalPosition(cursor: cursor) else { return false }
                return position.precedes(streamPosition)
            }
        }
        return JournalState(resume: resume, streams: tracker.streams)
    }

    // MARK: Reading

    private func applyMatches(_ reader: JournalReader) throws(JournalError) {
        try Self.applyMatches(settings, reader)
    }

    private static func applyMatches(_ settings: JournalSettings, _ reader: JournalReader) throws(JournalError) {
        let priorities = settings.maxPriority.map { Array(0...$0).map { "PRIORITY=\($0)" } } ?? []
        let terms = [
            settings.units.map { "_SYSTEMD_UNIT=\($0)" }, settings.identifiers.map { "SYSLOG_IDENTIFIER=\($0)" },
        ].filter { !$0.isEmpty }
        if terms.isEmpty {
            for match in priorities { try reader.addMatch(match) }
            return
        }
        for (i, term) in terms.enumerated() {
            if i > 0 { try reader.addDisjunction() }
            for match in term { try reader.addMatch(match) }
            for match in priorities { try reader.addMatch(match) }
        }
    }

    /// Reads until stopping, reopening the journal after an error.
    private func readLoop() {
        var failures = 0
        while !stopping.isSet {
            do {
                if try readJournal() { continue }  // reopened on purpose
                return
            } catch {
                failures += 1
                recorder.health.report("journald", ok: false, reason: "\(error)")
                logger.error("journal read failed, reopening", metadata: ["error": "\(error)"])
                let wait = Backoff(cap: 30, jitter: .none).delay(afterFailures: failures)
                // Woken early by the stop (the flag's pipe), never by a timer.
                _ = stopping.wait(readable: -1, milliseconds: Int32(wait * 1000))
            }
        }
    }

    /// The batches the reader has open, by stream key.
    final class OpenBatch {
        let serial: Int
        let key: String
        var builder: LogBatchBuilder
        var lastCursor = ""
        /// When it was opened, in monotonic seconds (its age decides when it is sent).
        let opened: Double

        init(serial: Int, key: String, builder: LogBatchBuilder, opened: Double) {
            self.serial = serial
            self.key = key
            self.builder = builder
            self.opened = opened
        }

        /// The finished body, moved out of the builder (which is left empty).
        func takeBody() -> [UInt8] {
            let builder = self.builder
            self.builder = LogBatchBuilder(group: "", stream: "", reserving: 0)
            return builder.finish()
        }
    }

    /// The values of one entry that name its stream.
    struct StreamFields: Equatable {
        var unit = ""
        var identifier = ""
        var host = ""
        var container = ""
        var machine = ""

        /// Appends a naming field's value to `key`, the bytes an entry's stream is looked up by:
        /// for each naming field, its kind, its length (4 bytes) and its value.
        @inline(__always)
        static func append(_ field: FieldName, _ value: UnsafeRawBufferPointer, to key: inout [UInt8]) {
            key.append(field.rawValue)
            withUnsafeBytes(of: UInt32(truncatingIfNeeded: value.count).littleEndian) { key.append(contentsOf: $0) }
            key.append(contentsOf: value)
        }

        /// The fields `key` was made of (the last value of a field given twice).
        init(key: [UInt8]) {
            var i = 0
            while i + 5 <= key.count {
                let length = Int(key[i + 1]) | Int(key[i + 2]) << 8 | Int(key[i + 3]) << 16 | Int(key[i + 4]) << 24
                let end = min(key.count, i + 5 + length)
                let value = String(decoding: key[(i + 5)..<end], as: UTF8.self)
                switch FieldName(rawValue: key[i]) {
                case .unit: unit = value
                case .identifier: identifier = value
                case .host: host = value
                case .container: container = value
                case .machine: machine = value
                case .message, .other, nil: break
                }
                i = end
            }
        }

        init() {}
    }

    /// The bytes of ``StreamFields/append(_:_:to:)``, hashed as one block (an array of bytes is
    /// hashed a byte at a time).
    struct StreamKey: Hashable {
        var bytes: [UInt8]

        func hash(into hasher: inout Hasher) {
            bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
        }
    }

    struct StreamNames {
        var key: String
        var group: String
        var stream: String
        var service: String
    }

    /// Reads until stopping (returns false) or until it is time to reopen the journal (returns
    /// true).
    private func readJournal() throws -> Bool {
        let reader = try JournalReader(settings.directory.map { .directory($0) } ?? .local)
        try applyMatches(reader)
        let firstOpen = !hasRead
        var pending = try position(reader)
        // Seeking to the cursor bisects the entry arrays and touches pages all over the files.
        JournalReader.releaseMappedPages()
        hasRead = true
        if firstOpen { skip = skipList() }
        var sinceOpen = 0
        var message: [UInt8] = []
        message.reserveCapacity(4096)
        var streamKey: [UInt8] = []
        streamKey.reserveCapacity(256)
        var json: [UInt8] = []
        var wanted: [String: [UInt8]] = [:]
        let jsonFields = settings.format == .json ? settings.fields : []
        let linger = min(1.0, settings.batchAge)
        var sinceAgeCheck = 0
        recorder.health.report("journald", ok: true)

        func close(_ batch: OpenBatch) {
            self.open[batch.key] = nil
            let (group, stream, events) = (batch.builder.group, batch.builder.stream, batch.builder.events)
            let body = batch.takeBody()
            queue.push(
                ClosedBatch(
                    serial: batch.serial, key: batch.key, group: group, stream: stream, events: events, body: body,
                    lastCursor: batch.lastCursor),
                unlessStopping: stopping)
        }
        func closeAged(_ age: Double) {
            let now = Monotonic.seconds()
            for batch in self.open.values where now - batch.opened >= age { close(batch) }
        }

        while !stopping.isSet {
            if pending {
                pending = false
            } else if try !reader.advance() {
                closeAged(linger)
                if open.isEmpty, let cursor = lastReadCursor { reachedEnd(at: cursor) }
                // At the end: wait for the journal to change, for the oldest open batch's time to
                // close, or for the stop, and look again every `Self.idleRecheck` seconds: a writer
                // may append without the inotify event sd-journal waits for (systemd-journal-remote
                // does until it closes its file), and its last entries would wait for the next change.
                let now = Monotonic.seconds()
                let due = open.values.map { $0.opened + linger - now }.min() ?? Self.idleRecheck
                _ = try reader.wait(seconds: max(0.001, min(due, Self.idleRecheck)), unlessStopped: stopping)
                continue
            }
            sinceOpen += 1
            if sinceOpen > Self.reopenEvery {
                // This entry is read after reopening: it is not taken yet.
                return true
            }
            if sinceOpen % Self.releaseEvery == 0 { JournalReader.releaseMappedPages() }
            entriesRead.add(1, ordering: .relaxed)
            var hasMessage = false
            var truncated = false
            func readFields() -> Bool {
                streamKey.removeAll(keepingCapacity: true)
                hasMessage = false
                truncated = false
                message.removeAll(keepingCapacity: true)
                wanted.removeAll(keepingCapacity: true)
                return reader.forEachField { field in
                    guard let equals = field.firstIndex(ofByte: 0x3D) else { return }
                    let name = UnsafeRawBufferPointer(rebasing: field[..<equals])
                    let value = UnsafeRawBufferPointer(rebasing: field[(equals + 1)...])
                    switch Self.fieldName(name) {
                    case .message:
                        hasMessage = true
                        truncated = MessageText.repaired(
                            value, limit: CloudWatchLogsLimits.maxMessageBytes, into: &message)
                    case .other: break
                    case let naming: StreamFields.append(naming, value, to: &streamKey)
                    }
                    if !jsonFields.isEmpty {
                        let key = String(decoding: name, as: UTF8.self)
                        if jsonFields.contains(key) { wanted[key] = Array(value) }
                    }
                }
            }
            var complete = readFields()
            if !hasMessage {
                // An entry of a file being written can read, for a moment, without a field:
                // libsystemd skips a data object it cannot read (yet). Look again, at once and
                // after 1, 10 and 100 ms, before taking it as an entry without a message (the
                // soak lost one entry in a few million to this). The waits come out of a budget
                // of a second a minute, so that entries which truly have no message (any local
                // process may write them) cannot hold the reader back.
                for pause in [0, 0.001, 0.01, 0.1] where !hasMessage {
                    if pause > 0 {
                        guard rereadWaits.take(pause, now: Monotonic.seconds()) else { break }
                        usleep(UInt32(pause * 1_000_000))
                    }
                    complete = readFields()
                }
                recorder.selfMetrics.count(hasMessage ? .journalEntryReread : .journalEntryWithoutMessage)
            }
            if !complete { recorder.selfMetrics.count(.journalEntryDamaged) }
            let cursor = try reader.cursor()
            let previousCursor = lastReadCursor
            lastReadCursor = cursor
            guard hasMessage else { continue }
            let streamNames: StreamNames
            if let known = names[StreamKey(bytes: streamKey)] {
                streamNames = known
            } else {
                streamNames = makeNames(StreamFields(key: streamKey))
                if names.count > 10_000 { names.removeAll() }
                names[StreamKey(bytes: streamKey)] = streamNames
            }
            if !skip.isEmpty, let until = skip[streamNames.key] {
                if let position = JournalPosition(cursor: cursor), !until.precedes(position) { continue }
                skip[streamNames.key] = nil
            }
            let realtime = try reader.realtimeMicroseconds()
            let timestamp = Int64(realtime / 1000)
            let now = Date().timeIntervalSince1970
            let nowMilliseconds = Int64(now * 1000)
            // What CloudWatch Logs would refuse is counted here, not sent.
            if timestamp < nowMilliseconds - CloudWatchLogsLimits.maxAgeMilliseconds {
                recorder.selfMetrics.count(.logEventTooOld)
                continue
            }
            if timestamp > nowMilliseconds + CloudWatchLogsLimits.maxAheadMilliseconds {
                recorder.selfMetrics.count(.logEventTooNew)
                continue
            }

            if settings.format == .json {
                json.removeAll(keepingCapacity: true)
                json.append(UInt8(ascii: "{"))
                var first = true
                for name in jsonFields {
                    guard let value = wanted[name] else { continue }
                    if !first { json.append(UInt8(ascii: ",")) }
                    first = false
                    JSONText.appendQuoted(name, to: &json)
                    json.append(UInt8(ascii: ":"))
                    var repaired: [UInt8] = []
                    value.withUnsafeBytes { _ = MessageText.repaired($0, limit: Int.max, into: &repaired) }
                    repaired.withUnsafeBytes { JSONText.appendQuoted($0, to: &json) }
                }
                json.append(UInt8(ascii: "}"))
                truncated = json.withUnsafeBytes {
                    MessageText.repaired($0, limit: CloudWatchLogsLimits.maxMessageBytes, into: &message)
                }
            }
            if truncated { recorder.selfMetrics.count(.logEventTruncated) }

            if Double(realtime) / 1_000_000 >= now - settings.metricsMaxAge {
                message.withUnsafeBytes { recordMetrics($0, names: streamNames, now: now) }
            }

            var existing = open[streamNames.key]
            if let full = existing, !full.builder.fits(messageBytes: message.count, timestamp: timestamp) {
                close(full)
                existing = nil
            }
            let batch: OpenBatch
            if let existing {
                batch = existing
            } else {
                batch = OpenBatch(
                    serial: nextSerial, key: streamNames.key,
                    builder: LogBatchBuilder(group: streamNames.group, stream: streamNames.stream),
                    opened: Monotonic.seconds())
                let serial = nextSerial
                tracker.withLock { $0.outstanding[serial] = .some(previousCursor) }
                nextSerial += 1
                open[streamNames.key] = batch
            }
            message.withUnsafeBytes { batch.builder.append(timestamp: timestamp, message: $0) }
            batch.lastCursor = cursor
            sinceAgeCheck += 1
            if sinceAgeCheck >= 1024 {
                sinceAgeCheck = 0
                closeAged(settings.batchAge)
            }
        }
        for batch in open.values.sorted(by: { $0.serial < $1.serial }) { close(batch) }
        return false
    }

    private func recordMetrics(_ message: UnsafeRawBufferPointer, names: StreamNames, now: Double) {
        if settings.keycloakEvents {
            switch KeycloakEventLine.parse(message) {
            case .notAnEvent: break
            case .unreadable: recorder.selfMetrics.count(.logLineUnparsed)
            case .event(let event):
                metrics.record(event, now: now)
                return
            }
        }
        if let pattern = settings.accessLog {
            let line = String(decoding: message, as: UTF8.self)
            if let request = pattern.match(line) { metrics.record(request, service: names.service) }
        }
    }

    /// Positions `reader` where reading goes on: after the last entry read (when the journal is
    /// reopened after an error), after the saved cursor, or at the configured start. Returns
    /// whether the reader stands on an entry not read yet (after a gap), which comes first.
    private func position(_ reader: JournalReader) throws -> Bool {
        if hasRead {
            guard let last = lastReadCursor else {
                try reader.seekHead()
                return false
            }
            return try resume(reader, after: last)
        }
        let saved: JournalState?
        do {
            saved = try JournalState.load(from: settings.stateFile)
        } catch {
            // A state file that cannot be read is kept aside, not trusted, and said.
            let aside = settings.stateFile + ".unreadable"
            if settings.savesState { _ = rename(settings.stateFile, aside) }
            logger.error(
                "journal state unreadable, moved aside; starting at the configured position",
                metadata: ["file": "\(aside)", "error": "\(error)"])
            saved = nil
        }
        if let saved {
            tracker.withLock {
                $0.streams = saved.streams
                $0.idleCursor = saved.resume
                $0.saved = saved
            }
            lastReadCursor = saved.resume
            guard let resume = saved.resume else {
                try reader.seekHead()
                return false
            }
            return try self.resume(reader, after: resume)
        }
        // No state: the first start.
        let before: String?
        switch settings.start {
        case .head:
            try reader.seekHead()
            before = nil
        case .tail:
            try reader.seekTail()
            before = try reader.previous() ? try reader.cursor() : nil
        case .time(let microseconds):
            try reader.seek(realtimeMicroseconds: microseconds)
            if try reader.advance() {
                // On the first entry at or after the time: step back to the one before it.
                if try reader.previous() {
                    before = try reader.cursor()
                } else {
                    try reader.seekHead()
                    before = nil
                }
            } else {
                try reader.seekTail()
                before = try reader.previous() ? try reader.cursor() : nil
            }
        }
        lastReadCursor = before
        let state = JournalState(resume: before)
        tracker.withLock {
            $0.idleCursor = before
            $0.saved = state
        }
        save(state)
        return false
    }

    /// Seeks to `cursor` and checks that its entry is still there. When it is gone (vacuumed or
    /// rotated away), the entries lost are counted and the reader stands on the oldest entry left
    /// after it, to be read first (returns true).
    private func resume(_ reader: JournalReader, after cursor: String) throws -> Bool {
        try reader.seek(cursor: cursor)
        if try !reader.advance() {
            // Nothing at or after the cursor, or libsystemd has not taken in the files yet (seen
            // when a file was just removed): let it process the directory's changes, then look
            // again, so that a vacuumed cursor is not missed.
            try reader.wait(seconds: 0)
            try reader.seek(cursor: cursor)
            guard try reader.advance() else { return false }
        }
        if reader.currentMatches(cursor: cursor) { return false }
        let current = try reader.cursor()
        if let saved = JournalPosition(cursor: cursor), let now = JournalPosition(cursor: current), now.precedes(saved)
        {
            // An entry before the cursor: the cursor's own is gone but later ones are not yet read.
            // Step on until past it.
            while try reader.advance() {
                if let position = JournalPosition(cursor: try reader.cursor()), saved.precedes(position) { break }
            }
        }
        let first = try reader.cursor()
        let lost = JournalPosition(cursor: cursor).flatMap { saved in
            JournalPosition(cursor: first).flatMap { saved.entriesBetween($0) }
        }
        if lost != 0 {
            recorder.selfMetrics.count(.journalGap, Int(lost ?? 1))
            logger.warning(
                "journal gap: the saved cursor's entry is gone (vacuumed); reading goes on at the oldest entry left",
                metadata: ["entries.lost": "\(lost.map(String.init) ?? "unknown, at least 1")"])
        }
        return true
    }

    /// The streams whose accepted entries lie past the resume point: their entries up to that
    /// cursor are skipped.
    private func skipList() -> [String: JournalPosition] {
        let streams = tracker.withLock { $0.streams }
        var skip: [String: JournalPosition] = [:]
        for (key, cursor) in streams {
            if let position = JournalPosition(cursor: cursor) { skip[key] = position }
        }
        return skip
    }

    enum FieldName: UInt8 {
        case message, unit, identifier, host, container, machine, other
    }

    private static let names: [(String, FieldName)] = [
        ("MESSAGE", .message), ("_SYSTEMD_UNIT", .unit), ("SYSLOG_IDENTIFIER", .identifier), ("_HOSTNAME", .host),
        ("CONTAINER_NAME", .container), ("_MACHINE_ID", .machine),
    ]
    private static let nameBytes = names.map { (Array($0.0.utf8), $0.1) }

    @inline(__always)
    static func fieldName(_ name: UnsafeRawBufferPointer) -> FieldName {
        guard let first = name.first,
            first == UInt8(ascii: "M") || first == UInt8(ascii: "_") || first == UInt8(ascii: "S")
                || first == UInt8(ascii: "C")
        else { return .other }
        for (bytes, field) in nameBytes where bytes.count == name.count && bytes[0] == first {
            if bytes.withUnsafeBytes({ memcmp($0.baseAddress!, name.baseAddress!, name.count) }) == 0 { return field }
        }
        return .other
    }

    /// The log group, stream and service of entries with `fields`.
    func makeNames(_ fields: StreamFields) -> StreamNames {
        let group = Self.fill(settings.logGroup, fields, cluster: settings.cluster, allowed: Self.isGroupCharacter)
        let stream = Self.fill(settings.logStream, fields, cluster: settings.cluster, allowed: Self.isStreamCharacter)
        let service = Self.fill(settings.accessLogService, fields, cluster: settings.cluster, allowed: { _ in true })
        return StreamNames(
            key: JournalState.key(group: group, stream: stream), group: group, stream: stream, service: service)
    }

    /// `template` with its placeholders replaced; characters `allowed` refuses become `_`; at most
    /// 512 characters (CloudWatch's limit for both names).
    static func fill(_ template: String, _ fields: StreamFields, cluster: String, allowed: (Character) -> Bool)
        -> String
    {
        var out = ""
        var name: String?
        func value(_ placeholder: String) -> String {
            let value: String
            switch placeholder {
            case "unit": value = fields.unit.isEmpty ? fields.identifier : fields.unit
            case "identifier": value = fields.identifier
            case "host": value = fields.host
            case "cluster": value = cluster
            case "container": value = fields.container
            case "machine": value = fields.machine
            default: value = "{\(placeholder)}"
            }
            return value.isEmpty ? "unknown" : value
        }
        for character in template {
            if character == "{" {
                name = ""
            } else if character == "}", let placeholder = name {
                out += value(placeholder).map { allowed($0) ? $0 : "_" }
                name = nil
            } else if name != nil {
                name!.append(character)
            } else {
                out.append(allowed(character) ? character : "_")
            }
        }
        return String(out.prefix(512))
    }

    /// Log group names: letters, digits, `_ - / . #`.
    static func isGroupCharacter(_ c: Character) -> Bool {
        c.isASCII && (c.isLetter || c.isNumber || "_-/.#".contains(c))
    }

    /// Log stream names: anything but `:` and `*`.
    static func isStreamCharacter(_ c: Character) -> Bool {
        c != ":" && c != "*"
    }
}

/// The short queue between the reader thread and the sender: the reader blocks while it is
/// full.
final class BatchQueue: @unchecked Sendable {
    private let lock = Condition()
    private var items: [JournalSource.ClosedBatch] = []
    private var closed = false
    /// Rung when a batch is queued or the queue is closed: the sender waits on it.
    private let arrived = Doorbell()
    let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
    }

    /// Adds `batch`, waiting while the queue is full (unless the source is stopping: then it
    /// goes in anyway, for the last sends).
    func push(_ batch: JournalSource.ClosedBatch, unlessStopping stopping: StopFlag) {
        lock.lock()
        while items.count >= capacity && !closed && !stopping.isSet {
            _ = lock.wait(seconds: 0.1)
        }
        items.append(batch)
        lock.unlock()
        arrived.ring()
    }

    /// Returns when a batch is queued, or `timeout` seconds passed (at most 10 ms once the queue
    /// is closed: the reader is finishing).
    func waitForItems(timeout: Double) async {
        if isClosed {
            try? await Task.sleep(for: .milliseconds(10))
            return
        }
        await arrived.wait(atMost: timeout)
    }

    func pushFront(_ batch: JournalSource.ClosedBatch) {
        lock.lock()
        items.insert(batch, at: 0)
        lock.unlock()
    }

    func pop() -> JournalSource.ClosedBatch? {
        lock.lock()
        defer { lock.unlock() }
        guard !items.isEmpty else { return nil }
        lock.broadcast()
        return items.removeFirst()
    }

    var isEmpty: Bool { count == 0 }

    var isClosed: Bool {
        lock.lock()
        defer { lock.unlock() }
        return closed
    }

    var count: Int {
        lock.lock()
        defer { lock.unlock() }
        return items.count
    }

    /// Lets a waiting reader go on (shutdown): the queue no longer blocks.
    func close() {
        lock.lock()
        closed = true
        lock.broadcast()
        lock.unlock()
        arrived.ring()
    }
}

/// Seconds of waiting allowed over a sliding minute, refilled continuously.
struct WaitBudget {
    let secondsPerMinute: Double
    private var available: Double
    private var updated: Double?

    init(secondsPerMinute: Double) {
        self.secondsPerMinute = secondsPerMinute
        self.available = secondsPerMinute
    }

    /// Takes `seconds` from the budget at monotonic time `now`, or returns false when it has not
    /// that much left.
    mutating func take(_ seconds: Double, now: Double) -> Bool {
        if let updated { available = min(secondsPerMinute, available + (now - updated) * secondsPerMinute / 60) }
        updated = now
        guard available + 1e-9 >= seconds else { return false }
        available -= seconds
        return true
    }
}
