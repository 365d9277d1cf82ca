import FoundationEssentials
import ObsCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A bounded, crash-safe queue of batches on disk: a batch is written (and fsynced) before it is
/// sent, and removed only after the service accepted it, so a crash or a restart loses nothing
/// that was accepted. At most the batch in flight when the agent died is sent twice.
///
/// When adding a batch would exceed `maxBytes`, the oldest batches are dropped to make room and
/// counted (`spool_full`, with their items). Batch files that fail their checksum at start are
/// moved to `corrupt/` and counted (`spool_corrupt`).
public final class DiskSpool: Sendable {
    struct Entry {
        var id: SpoolBatchID
        var kind: String
        var size: Int
        var items: Int
        var created: Int64
    }

    struct Index {
        var entries: [Entry] = []
        var bytes = 0
        var nextSequence: UInt64 = 1
    }

    public let directory: String
    package let maxBytes: Int
    private let selfMetrics: SelfMetrics
    private let index = Mutex(Index())
    /// Rung when a batch is added: the shippers wait on it instead of polling.
    package let appended = Doorbell()

    /// Opens (creating it if needed) the spool in `directory`, and indexes the batches left there by
    /// an earlier run, oldest first.
    public init(directory: String, maxBytes: Int, selfMetrics: SelfMetrics) throws(SpoolError) {
        self.directory = directory
        self.maxBytes = maxBytes
        self.selfMetrics = selfMetrics
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw SpoolError(message: "cannot create \(directory): \(error.fileErrorText)")
        }
        guard access(directory, W_OK) == 0 else { throw SpoolError(message: "\(directory) is not writable") }
        try reindex()
    }

    private func path(_ id: SpoolBatchID) -> String {
        directory + "/" + String(cFormat: "%020llu", id.sequence) + ".batch"
    }

    private func reindex() throws(SpoolError) {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw SpoolError(message: "cannot list \(directory): \(error.fileErrorText)")
        }
        var found = Index()
        var corrupt = 0
        for name in names.sorted() {
            if name.hasPrefix(".") && name.hasSuffix(".tmp") {
                unlink(directory + "/" + name)  // a write a crash interrupted: never renamed, never accepted
                continue
            }
            guard name.hasSuffix(".batch"), let sequence = UInt64(name.dropLast(6)) else { continue }
            let id = SpoolBatchID(sequence: sequence)
            guard let data = FileManager.default.contents(atPath: path(id)), let batch = SpoolFile.decode(Array(data))
            else {
                moveAside(name)
                corrupt += 1
                continue
            }
            found.entries.append(
                Entry(id: id, kind: batch.kind, size: data.count, items: batch.items, created: batch.created))
            found.bytes += data.count
            found.nextSequence = max(found.nextSequence, sequence + 1)
        }
        if corrupt > 0 { selfMetrics.count(.spoolCorrupt, corrupt) }
        index.withLock { $0 = found }
    }

    private func moveAside(_ name: String) {
        let corrupt = directory + "/corrupt"
        try? FileManager.default.createDirectory(atPath: corrupt, withIntermediateDirectories: true)
        rename(directory + "/" + name, corrupt + "/" + name)
    }

    /// Writes `batch` durably and returns its id. Older batches are dropped (and counted) when the
    /// spool would grow past `maxBytes`; a batch larger than the whole spool is refused.
    @discardableResult
    public func append(_ batch: SpooledBatch) throws(SpoolError) -> SpoolBatchID {
        let bytes: [UInt8]
        do {
            bytes = try SpoolFile.encode(batch)
        } catch {
            throw SpoolError(message: "cannot encode a batch: \(error)")
        }
        guard bytes.count <= maxBytes else {
            selfMetrics.count(.spoolFull, batch.items)
            throw SpoolError(message: "a \(bytes.count)-byte batch does not fit a \(maxBytes)-byte spool")
        }
        let id = try index.withLock { index throws(SpoolError) -> SpoolBatchID in
            while index.bytes + bytes.count > maxBytes, !index.entries.isEmpty {
                let oldest = index.entries.removeFirst()
                unlink(path(oldest.id))
                index.bytes -= oldest.size
                selfMetrics.count(.spoolFull, oldest.items)
            }
            let id = SpoolBatchID(sequence: index.nextSequence)
            do {
                try SpoolFile.writeDurably(bytes, to: path(id), directory: directory)
            } catch let error as SpoolError {
                throw error
            } catch {
                throw SpoolError(message: "\(error)")
            }
            index.nextSequence += 1
            index.entries.append(
                Entry(id: id, kind: batch.kind, size: bytes.count, items: batch.items, created: batch.created))
            index.bytes += bytes.count
            return id
        }
        appended.ring()
        return id
    }

    /// The batches waiting, oldest first; only those of `kind` when given.
    public func pending(kind: String? = nil) -> [SpoolBatchID] {
        index.withLock { index in index.entries.filter { kind == nil || $0.kind == kind }.map(\.id) }
    }

    /// The batch `id`, or nil when it is gone (sent, or dropped to make room) or no longer intact.
    package func load(_ id: SpoolBatchID) -> SpooledBatch? {
        guard let data = FileManager.default.contents(atPath: path(id)) else { return nil }
        guard let batch = SpoolFile.decode(Array(data)) else {
            forget(id)
            moveAside(SpoolFile.fileName(path(id)))
            selfMetrics.count(.spoolCorrupt)
            return nil
        }
        return batch
    }

    /// Removes `id` once the service accepted it (or it was given up, and counted, for good).
    package func remove(_ id: SpoolBatchID) {
        forget(id)
        unlink(path(id))
    }

    /// Replaces what batch `id` holds with `batch` (durably, in one rename), keeping its place:
    /// what a sender does when part of a batch was delivered and the rest must wait. Returns false,
    /// and leaves the old contents, when `id` is gone or the write fails.
    @discardableResult
    package func replace(_ id: SpoolBatchID, with batch: SpooledBatch) -> Bool {
        guard let bytes = try? SpoolFile.encode(batch) else { return false }
        return index.withLock { index in
            guard let i = index.entries.firstIndex(where: { $0.id == id }),
                (try? SpoolFile.writeDurably(bytes, to: path(id), directory: directory)) != nil
            else { return false }
            index.bytes += bytes.count - index.entries[i].size
            index.entries[i].size = bytes.count
            index.entries[i].items = batch.items
            return true
        }
    }

    private func forget(_ id: SpoolBatchID) {
        index.withLock { index in
            if let i = index.entries.firstIndex(where: { $0.id == id }) {
                index.bytes -= index.entries[i].size
                index.entries.remove(at: i)
            }
        }
    }

    /// Bytes on disk in batches.
    public var bytes: Int { index.withLock { $0.bytes } }

    /// Seconds since the oldest waiting batch was accepted, or 0 when none waits.
    package func oldestAge(now: Int64) -> Int64 {
        index.withLock { index in index.entries.first.map { max(0, now - $0.created) } ?? 0 }
    }
}
