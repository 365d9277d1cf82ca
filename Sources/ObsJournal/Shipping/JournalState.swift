import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// What of the journal CloudWatch Logs has accepted, kept in a small JSON file that is written
/// whole, fsynced and renamed over the old one, so a crash leaves the old state or the new one.
///
/// - `resume`: every entry up to this cursor was accepted (or is of no stream, filtered out);
///   reading starts after it. Nil: no entry was accepted yet; the journal is read from its head.
/// - `streams`: per log group and stream, the cursor of its last accepted entry when that lies
///   past `resume` (streams send their batches independently): on restart those entries are
///   skipped, so an accepted batch is not sent again.
public struct JournalState: Sendable, Equatable, Codable {
    package var resume: String?
    package var streams: [String: String] = [:]

    package init(resume: String? = nil, streams: [String: String] = [:]) {
        self.resume = resume
        self.streams = streams
    }

    /// The key of a log group and stream in ``streams``.
    package static func key(group: String, stream: String) -> String { group + "\t" + stream }

    /// The saved state, nil when there is none (the first start), or an error when the file exists
    /// but cannot be read.
    package static func load(from path: String) throws -> JournalState? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return try JSONDecoder().decode(JournalState.self, from: data)
    }

    /// Writes the state durably: a temporary file beside `path`, fsynced, renamed over `path`,
    /// and the directory fsynced.
    package func save(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(self)
        let directory = path.lastIndex(of: "/").map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw StateError(path: temporary, errno: errno) }
        let written = data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd)
        close(fd)
        guard written == data.count, synced == 0 else { throw StateError(path: temporary, errno: errno) }
        guard rename(temporary, path) == 0 else { throw StateError(path: path, errno: errno) }
        let dirFD = open(directory.isEmpty ? "." : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dirFD >= 0 {
            fsync(dirFD)
            close(dirFD)
        }
    }

    public struct StateError: Error, CustomStringConvertible {
        package var path: String
        package var errno: Int32
        public var description: String { "journal state \(path): \(String(cString: strerror(errno)))" }
    }
}
