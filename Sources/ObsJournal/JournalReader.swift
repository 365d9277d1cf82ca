#if canImport(Glibc)
import Glibc
#endif
import CSystemd

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
    }

    deinit {
        sd_journal_close(journal)
    }

    /// Only entries with `FIELD=value` (several matches of one field are alternatives; of different
    /// fields, all must hold). For example `_SYSTEMD_UNIT=keycloak.service`.
    public func addMatch(_ match: String) throws(JournalError) {
        let result = match.withCString { sd_journal_add_match(journal, $0, 0) }
        guard result >= 0 else { throw JournalError(call: "sd_journal_add_match", errno: -result) }
    }

    public func seekHead() throws(JournalError) {
        try check(sd_journal_seek_head(journal), "sd_journal_seek_head")
    }

    public func seekTail() throws(JournalError) {
        try check(sd_journal_seek_tail(journal), "sd_journal_seek_tail")
    }

    /// Positions the reader at `cursor`; the next ``next()`` returns the entry at or after it.
    public func seek(cursor: String) throws(JournalError) {
        let result = cursor.withCString { sd_journal_seek_cursor(journal, $0) }
        try check(result, "sd_journal_seek_cursor")
    }

    /// Whether the current entry is the one `cursor` names (after a seek and a `next`).
    public func currentMatches(cursor: String) -> Bool {
        cursor.withCString { sd_journal_test_cursor(journal, $0) } > 0
    }

    /// The next entry, or nil at the end of the journal.
    public func next() throws(JournalError) -> JournalEntry? {
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
