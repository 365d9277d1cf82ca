import CObsNet
import CSystemd
import ObsCore

#if canImport(Glibc)
    import Glibc
#endif

/// Reads a journal in process through libsystemd's `sd_journal`: the local system journal, or a
/// directory of journal files (a host's journal mounted into a container).
///
/// Not thread-safe: use one reader from one thread at a time. The journal is closed when the
/// reader goes away.
public final class JournalReader: @unchecked Sendable {
    /// Which journal to open.
    public enum Location: Sendable, Equatable {
        /// The local journal (system and user journals of this machine).
        case local
        /// Every journal file in a directory, such as `/var/log/journal/<machine-id>`.
        case directory(String)
    }

    private let journal: OpaquePointer

    public init(_ location: Location) throws(JournalError) {
        var handle: OpaquePointer?
        let result: Int32
        switch location {
        case .local: result = sd_journal_open(&handle, Int32(SD_JOURNAL_LOCAL_ONLY))
        case .directory(let path): result = sd_journal_open_directory(&handle, path, 0)
        }
        guard result >= 0, let handle else { throw JournalError(call: "sd_journal_open", errno: -result) }
        journal = handle
        // Fields are returned whole up to this size (libsystemd's default cuts them at 64 KiB);
        // what is longer than CloudWatch takes is truncated, with a marker, by the batcher.
        sd_journal_set_data_threshold(journal, 1 << 20)
    }

    deinit {
        sd_journal_close(journal)
    }

    /// Only entries with `FIELD=value` (several matches of one field are alternatives; of different
    /// fields, all must hold). For example `_SYSTEMD_UNIT=keycloak.service`.
    package func addMatch(_ match: String) throws(JournalError) {
        let result = match.withCString { sd_journal_add_match(journal, $0, 0) }
        guard result >= 0 else { throw JournalError(call: "sd_journal_add_match", errno: -result) }
    }

    /// Ends a group of matches: entries that satisfy the groups before or the matches after.
    package func addDisjunction() throws(JournalError) {
        try check(sd_journal_add_disjunction(journal), "sd_journal_add_disjunction")
    }

    public func seekHead() throws(JournalError) {
        try check(sd_journal_seek_head(journal), "sd_journal_seek_head")
    }

    package func seekTail() throws(JournalError) {
        try check(sd_journal_seek_tail(journal), "sd_journal_seek_tail")
    }

    /// Positions the reader at the first entry written at or after `microseconds` since the epoch.
    package func seek(realtimeMicroseconds microseconds: UInt64) throws(JournalError) {
        try check(sd_journal_seek_realtime_usec(journal, microseconds), "sd_journal_seek_realtime_usec")
    }

    /// Steps back one entry; false at the head. After ``seekTail()``, stepping back once makes
    /// the next ``advance()`` return only entries written from now on.
    @discardableResult
    package func previous() throws(JournalError) -> Bool {
        let result = sd_journal_previous(journal)
        try check(result, "sd_journal_previous")
        return result > 0
    }

    /// Steps to the next entry; false at the end. Read the entry with ``fields(_:)``,
    /// ``realtimeMicroseconds()`` and ``cursor()``.
    public func advance() throws(JournalError) -> Bool {
        let result = sd_journal_next(journal)
        try check(result, "sd_journal_next")
        return result > 0
    }

    /// Drops this process's page-table entries for the journal files libsystemd has mapped, and
    /// returns how many bytes of mappings were released. libsystemd maps each file through 8 MiB
    /// windows it keeps (shared, read-only); a sequential reader touches every page of them once,
    /// and each touched page stays resident in the agent until the window is unmapped. The pages
    /// stay in the page cache, and libsystemd's next access faults them back in unchanged
    /// (`MADV_DONTNEED` on a shared file mapping discards no data), so this only stops the agent
    /// from holding what it has already read. Call it on the thread that reads, between entries.
    ///
    /// The journal's mappings are found with the PROCMAP_QUERY ioctl (Linux 6.11 and later), which
    /// visits only the shared file mappings, else by reading /proc/self/maps, whose text the kernel
    /// formats for every mapping of the process (a fifth of the reader's time in a process with 340
    /// of them, measured with `perf`).
    @discardableResult
    package static func releaseMappedPages() -> Int {
        releaseMappedPages(query: true)
    }

    /// ``releaseMappedPages()``, with the ioctl (`query`) or through the text of /proc/self/maps.
    static func releaseMappedPages(query: Bool) -> Int {
        let fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return 0 }
        defer { close(fd) }
        if query, let released = releaseQueried(fd) { return released }
        var text: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            text += chunk[0..<n]
        }
        var released = 0
        text.withUnsafeBytes { maps in
            var lineStart = 0
            while lineStart < maps.count {
                let lineEnd = maps.firstIndex(ofByte: 0x0A, from: lineStart) ?? maps.count
                defer { lineStart = lineEnd + 1 }
                if let (start, length) = journalMapping(UnsafeRawBufferPointer(rebasing: maps[lineStart..<lineEnd])),
                    let address = UnsafeMutableRawPointer(bitPattern: start),
                    madvise(address, length, MADV_DONTNEED) == 0
                {
                    released += length
                }
            }
        }
        return released
    }

    /// Releases the journal mappings PROCMAP_QUERY finds; nil when the kernel does not have it.
    static func releaseQueried(_ fd: CInt) -> Int? {
        var name = [CChar](repeating: 0, count: 4096)
        var address: UInt64 = 0
        var released = 0
        while true {
            var start: UInt64 = 0
            var end: UInt64 = 0
            let result = name.withUnsafeMutableBufferPointer {
                obs_next_shared_file_mapping(fd, address, &start, &end, $0.baseAddress, UInt32($0.count))
            }
            if result == -ENOENT { return released }
            if result != 0 { return address == 0 ? nil : released }
            guard end > start else { return released }
            let isJournal = name.withUnsafeBytes { raw in
                isJournalPath(UnsafeRawBufferPointer(rebasing: raw[..<(raw.firstIndex(of: 0) ?? raw.count)]))
            }
            if isJournal, let pointer = UnsafeMutableRawPointer(bitPattern: UInt(start)),
                madvise(pointer, Int(end - start), MADV_DONTNEED) == 0
            {
                released += Int(end - start)
            }
            address = end
        }
    }

    /// Whether `path` (a mapping's, as the kernel shows it) names a journal file: `.journal`, or
    /// `.journal~` (a file journald found damaged), with " (deleted)" after it when it was vacuumed
    /// while mapped.
    static func isJournalPath(_ path: UnsafeRawBufferPointer) -> Bool {
        func endsWith(_ suffix: StaticString, before trailer: Int = 0) -> Bool {
            let count = suffix.utf8CodeUnitCount
            return path.count >= count + trailer
                && memcmp(path.baseAddress! + path.count - trailer - count, suffix.utf8Start, count) == 0
        }
        let trailer = endsWith(" (deleted)") ? 10 : 0
        return endsWith(".journal", before: trailer) || endsWith(".journal~", before: trailer)
    }

    /// The address and length of a line of /proc/self/maps ("start-end perms offset dev inode
    /// path") when it maps a journal file shared (perms "r--s"; a file vacuumed while mapped ends
    /// in " (deleted)"), else nil.
    static func journalMapping(_ line: UnsafeRawBufferPointer) -> (UInt, Int)? {
        guard isJournalPath(line) else { return nil }
        var i = 0
        func hex(until stop: UInt8) -> UInt? {
            var value: UInt = 0
            let first = i
            while i < line.count, line[i] != stop {
                let c = line[i]
                let digit: UInt
                switch c {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt(c - UInt8(ascii: "0"))
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt(c - UInt8(ascii: "a") + 10)
                default: return nil
                }
                guard i - first < 16 else { return nil }
                value = value << 4 | digit
                i += 1
            }
            guard i > first, i < line.count else { return nil }
            i += 1
            return value
        }
        guard let start = hex(until: UInt8(ascii: "-")), let end = hex(until: UInt8(ascii: " ")), end > start,
            i + 4 < line.count, line[i + 3] == UInt8(ascii: "s"), line[i + 4] == UInt8(ascii: " ")
        else { return nil }
        return (start, Int(end - start))
    }

    /// Waits up to `seconds` for the journal to change (entries appended, files added or
    /// rotated). Returns whether it changed.
    @discardableResult
    package func wait(seconds: Double) throws(JournalError) -> Bool {
        let result = sd_journal_wait(journal, UInt64(max(0, seconds) * 1_000_000))
        try check(result, "sd_journal_wait")
        return result != 0  // SD_JOURNAL_NOP is 0
    }

    /// Waits, as `sd_journal_wait` does, for the journal to change, but at most `seconds` (nil: no
    /// limit but the journal's own, for file systems without inotify) and no longer than the
    /// stop: the journal's descriptor is polled beside the stop flag's. True when it changed.
    package func wait(seconds: Double?, unlessStopped stop: StopFlag) throws(JournalError) -> Bool {
        let fd = sd_journal_get_fd(journal)
        try check(fd, "sd_journal_get_fd")
        var timeout: UInt64 = 0
        try check(sd_journal_get_timeout(journal, &timeout), "sd_journal_get_timeout")
        var milliseconds: Int32 = -1
        if timeout != UInt64.max {
            var now = timespec()
            clock_gettime(CLOCK_MONOTONIC, &now)
            let nowMicroseconds = UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1000
            milliseconds = Int32(clamping: (timeout > nowMicroseconds ? timeout - nowMicroseconds : 0) / 1000 + 1)
        }
        if let seconds {
            let limit = Int32(clamping: Int((seconds * 1000).rounded(.up)))
            milliseconds = milliseconds < 0 ? limit : min(milliseconds, limit)
        }
        _ = stop.wait(readable: fd, milliseconds: milliseconds)
        let result = sd_journal_process(journal)
        try check(result, "sd_journal_process")
        return result != 0  // SD_JOURNAL_NOP is 0
    }

    /// The current entry's fields, each as `NAME=value` bytes, handed to `body` one at a time
    /// (valid only during the call): nothing is copied. Returns false when a field could not be
    /// read (a corrupt object in a damaged file): the fields before it were handed over.
    @discardableResult
    public func forEachField(_ body: (UnsafeRawBufferPointer) -> Void) -> Bool {
        var data: UnsafeRawPointer?
        var length = 0
        sd_journal_restart_data(journal)
        while true {
            let result = sd_journal_enumerate_data(journal, &data, &length)
            if result == 0 { return true }
            guard result > 0, let data else { return false }
            body(UnsafeRawBufferPointer(start: data, count: length))
        }
    }

    /// When the current entry was written, in microseconds since the epoch.
    package func realtimeMicroseconds() throws(JournalError) -> UInt64 {
        var realtime: UInt64 = 0
        try check(sd_journal_get_realtime_usec(journal, &realtime), "sd_journal_get_realtime_usec")
        return realtime
    }

    /// The current entry's cursor.
    package func cursor() throws(JournalError) -> String {
        var pointer: UnsafeMutablePointer<CChar>?
        try check(sd_journal_get_cursor(journal, &pointer), "sd_journal_get_cursor")
        defer { free(pointer) }
        return pointer.map { String(cString: $0) } ?? ""
    }

    /// Positions the reader at `cursor`; the next ``next()`` returns the entry at or after it.
    package func seek(cursor: String) throws(JournalError) {
        let result = cursor.withCString { sd_journal_seek_cursor(journal, $0) }
        try check(result, "sd_journal_seek_cursor")
    }

    /// Whether the current entry is the one `cursor` names (after a seek and a `next`).
    package func currentMatches(cursor: String) -> Bool {
        cursor.withCString { sd_journal_test_cursor(journal, $0) } > 0
    }

    /// The next entry, or nil at the end of the journal.
    package func next() throws(JournalError) -> JournalEntry? {
        let result = sd_journal_next(journal)
        guard result >= 0 else { throw JournalError(call: "sd_journal_next", errno: -result) }
        guard result > 0 else { return nil }
        return try currentEntry()
    }

    private func currentEntry() throws(JournalError) -> JournalEntry {
        var fields: [String: String] = [:]
        var data: UnsafeRawPointer?
        var length = 0
        sd_journal_restart_data(journal)
        while true {
            let result = sd_journal_enumerate_data(journal, &data, &length)
            if result == 0 { break }
            guard result > 0, let data else { throw JournalError(call: "sd_journal_enumerate_data", errno: -result) }
            let bytes = UnsafeRawBufferPointer(start: data, count: length)
            guard let equals = bytes.firstIndex(of: UInt8(ascii: "=")) else { continue }
            let name = String(decoding: bytes[..<equals], as: UTF8.self)
            fields[name] = String(decoding: bytes[(equals + 1)...], as: UTF8.self)
        }
        var realtime: UInt64 = 0
        try check(sd_journal_get_realtime_usec(journal, &realtime), "sd_journal_get_realtime_usec")
        var cursorPointer: UnsafeMutablePointer<CChar>?
        try check(sd_journal_get_cursor(journal, &cursorPointer), "sd_journal_get_cursor")
        let cursor = cursorPointer.map { String(cString: $0) } ?? ""
        free(cursorPointer)
        return JournalEntry(fields: fields, realtimeMicroseconds: realtime, cursor: cursor)
    }

    private func check(_ result: Int32, _ call: String) throws(JournalError) {
        guard result >= 0 else { throw JournalError(call: call, errno: -result) }
    }
}
