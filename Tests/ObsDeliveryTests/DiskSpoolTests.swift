import Foundation
import Logging
import ObsCore
import Testing

@testable import ObsDelivery

@Suite struct DiskSpoolTests {
    static func directory() -> String { NSTemporaryDirectory() + "obs-spool-test-\(UUID().uuidString)" }

    static func batch(_ n: Int, items: Int = 1, size: Int = 100) -> SpooledBatch {
        SpooledBatch(
            kind: "put-metric-data", created: 1_700_000_000 + Int64(n), items: items, attributes: ["n": "\(n)"],
            payload: Array(repeating: UInt8(n & 0xFF), count: size))
    }

    @Test func batchesRoundTripInOrderAndSurviveAReopen() throws {
        let dir = Self.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let spool = try DiskSpool(directory: dir, maxBytes: 1 << 20, selfMetrics: SelfMetrics())
        let ids = try (0..<5).map { try spool.append(Self.batch($0)) }
        #expect(spool.pending() == ids)
        #expect(spool.load(ids[2]) == Self.batch(2))
        spool.remove(ids[0])
        #expect(spool.load(ids[0]) == nil)

        let reopened = try DiskSpool(directory: dir, maxBytes: 1 << 20, selfMetrics: SelfMetrics())
        #expect(reopened.pending() == Array(ids.dropFirst()))
        #expect(reopened.bytes == spool.bytes)
        let next = try reopened.append(Self.batch(9))
        #expect(next > ids.last!, "sequence numbers continue after a restart")
        #expect(reopened.oldestAge(now: 1_700_000_011) == 10)
    }

    @Test func aReplacedBatchKeepsItsPlaceAndTheSizesFollow() throws {
        let dir = Self.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let spool = try DiskSpool(directory: dir, maxBytes: 1 << 20, selfMetrics: SelfMetrics())
        let ids = try (0..<3).map { try spool.append(Self.batch($0, items: 10, size: 1_000)) }
        let before = spool.bytes
        #expect(spool.replace(ids[1], with: Self.batch(7, items: 4, size: 400)))
        #expect(spool.pending() == ids, "same place in the queue")
        #expect(spool.load(ids[1]) == Self.batch(7, items: 4, size: 400))
        let sizes = try (
            old: SpoolFile.encode(Self.batch(1, items: 10, size: 1_000)).count,
            new: SpoolFile.encode(Self.batch(7, items: 4, size: 400)).count
        )
        #expect(spool.bytes == before - sizes.old + sizes.new)
        let reopened = try DiskSpool(directory: dir, maxBytes: 1 << 20, selfMetrics: SelfMetrics())
        #expect(reopened.bytes == spool.bytes && reopened.load(ids[1]) == Self.batch(7, items: 4, size: 400))
        spool.remove(ids[2])
        #expect(!spool.replace(ids[2], with: Self.batch(8)), "a batch that is gone is not written back")
        #expect(spool.load(ids[2]) == nil)
    }

    @Test func aFullSpoolDropsTheOldestAndCountsTheirItems() throws {
        let dir = Self.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let metrics = SelfMetrics()
        let one = try SpoolFile.encode(Self.batch(0, size: 1000)).count
        let spool = try DiskSpool(directory: dir, maxBytes: one * 3, selfMetrics: metrics)
        let ids = try (0..<5).map { try spool.append(Self.batch($0, items: 7, size: 1000)) }
        #expect(spool.pending() == Array(ids.suffix(3)))
        #expect(metrics[.spoolFull] == 14)
        #expect(spool.bytes <= one * 3)
        #expect(throws: SpoolError.self) { try spool.append(Self.batch(99, items: 3, size: one * 4)) }
        #expect(metrics[.spoolFull] == 17)
    }

    /// A disk that fills under the spool: a 256 KiB tmpfs (mounted by the test, as root; where
    /// mounting is not allowed the test is skipped and says so).
    static let canMount: Bool = {
        guard getuid() == 0 else { return false }
        let probe = directory()
        try? FileManager.default.createDirectory(atPath: probe, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: probe) }
        guard mount("tmpfs", probe, "tmpfs", 0, "size=64k") == 0 else { return false }
        umount(probe)
        return true
    }()

    @Test(.enabled(if: canMount, "needs root and mount(2) for a small tmpfs"))
    func aFullDiskFailsTheWriteCountsTheItemsAndTheSpoolGoesOn() throws {
        let dir = Self.directory()
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        #expect(mount("tmpfs", dir, "tmpfs", 0, "size=256k") == 0)
        defer {
            umount(dir)
            try? FileManager.default.removeItem(atPath: dir)
        }
        let metrics = SelfMetrics()
        // The spool's own bound is far above what the disk holds: the disk fills first.
        let spool = try DiskSpool(directory: dir, maxBytes: 64 << 20, selfMetrics: metrics)
        var accepted: [SpoolBatchID] = []
        var refused = 0
        for n in 0..<20 {
            if let id = spool.accept(
                Self.batch(n, items: 5, size: 40_000), selfMetrics: metrics, logger: Logger(label: "test"))
            {
                accepted.append(id)
            } else {
                refused += 1
            }
        }
        #expect(!accepted.isEmpty && refused > 0, "accepted \(accepted.count), refused \(refused)")
        #expect(metrics[.spoolFull] == refused * 5, "every refused batch's items are counted")
        let leftovers = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter {
            $0.hasSuffix(".tmp")
        }
        #expect(leftovers.isEmpty, "no half-written file is left behind: \(leftovers)")
        for id in accepted { #expect(spool.load(id) != nil, "what was accepted is intact") }
        // Sent batches free the disk; the spool takes batches again.
        for id in accepted.prefix(3) { spool.remove(id) }
        #expect(
            spool.accept(Self.batch(99, items: 5, size: 40_000), selfMetrics: metrics, logger: Logger(label: "test"))
                != nil)
        let reopened = try DiskSpool(directory: dir, maxBytes: 64 << 20, selfMetrics: SelfMetrics())
        #expect(reopened.pending().count == accepted.count - 3 + 1)
    }

    @Test func corruptAndHalfWrittenFilesAreSetAsideAtStart() throws {
        let dir = Self.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let metrics = SelfMetrics()
        let spool = try DiskSpool(directory: dir, maxBytes: 1 << 20, selfMetrics: metrics)
        let good = try spool.append(Self.batch(1))
        let bad = try spool.append(Self.batch(2))
        // Flip one payload byte of the second file, and leave a temporary file as a crash would.
        let badPath = dir + "/" + String(format: "%020llu", bad.sequence) + ".batch"
        var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: badPath)))
        bytes[bytes.count - 10] ^= 0xFF
        try Data(bytes).write(to: URL(fileURLWithPath: badPath))
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: dir + "/.00000000000000000003.batch.tmp"))

        let reopened = try DiskSpool(directory: dir, maxBytes: 1 << 20, selfMetrics: metrics)
        #expect(reopened.pending() == [good])
        #expect(metrics[.spoolCorrupt] == 1)
        #expect(FileManager.default.fileExists(atPath: dir + "/corrupt/" + (badPath as NSString).lastPathComponent))
        #expect(!FileManager.default.fileExists(atPath: dir + "/.00000000000000000003.batch.tmp"))
    }

    @Test func truncatedFilesNeverDecode() throws {
        let bytes = try SpoolFile.encode(Self.batch(3, size: 64))
        #expect(SpoolFile.decode(bytes) == Self.batch(3, size: 64))
        for length in [0, 3, 8, 20, bytes.count - 1] {
            #expect(SpoolFile.decode(Array(bytes.prefix(length))) == nil, "\(length) bytes")
        }
    }

    @Test func anUnwritableDirectoryIsAClearError() {
        #expect(throws: SpoolError.self) {
            try DiskSpool(directory: "/proc/obs-spool", maxBytes: 1 << 20, selfMetrics: SelfMetrics())
        }
    }
}
