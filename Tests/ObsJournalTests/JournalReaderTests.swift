import CObsNet
import Foundation
import Testing

@testable import ObsJournal

/// Real journal files, built by systemd-journal-remote from export-format data
/// (Fixtures/journal-export-10.export, see Fixtures/SOURCES.md).
enum JournalTools {
    static let journalRemote = "/lib/systemd/systemd-journal-remote"
}

@Suite(
    .enabled(
        if: FileManager.default.isExecutableFile(atPath: JournalTools.journalRemote),
        "needs /lib/systemd/systemd-journal-remote (package systemd-journal-remote; scripts/test installs it)"))
struct JournalReaderTests {
    static let journalRemote = JournalTools.journalRemote
    static let export = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
        "Fixtures/journal-export-10.export")

    /// A directory holding one journal file made from `export`.
    static func makeJournal() throws -> String {
        let directory = NSTemporaryDirectory() + "obs-journal-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: journalRemote)
        process.arguments = ["--output=\(directory)/test.journal", "-"]
        process.standardInput = try FileHandle(forReadingFrom: export)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        return directory
    }

    @Test func readsEveryEntryWithItsFields() throws {
        let directory = try Self.makeJournal()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let reader = try JournalReader(.directory(directory))
        try reader.seekHead()
        var entries: [JournalEntry] = []
        while let entry = try reader.next() { entries.append(entry) }
        #expect(entries.count == 10)
        #expect(entries[0].message == "test message 0 with unicode é")
        #expect(entries[0].unit == "nginx.service")
        #expect(entries[0].priority == 0)
        #expect(entries[0].realtimeMicroseconds == 1_795_729_114_482_057)
        #expect(entries[1].fields["SYSLOG_IDENTIFIER"] == "postgresql")
        #expect(Set(entries.map(\.cursor)).count == 10)
    }

    @Test func matchesFilterByUnitAndCursorsResume() throws {
        let directory = try Self.makeJournal()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let reader = try JournalReader(.directory(directory))
        try reader.addMatch("_SYSTEMD_UNIT=postgresql@15-main.service")
        try reader.seekHead()
        var matched: [JournalEntry] = []
        while let entry = try reader.next() { matched.append(entry) }
        #expect(!matched.isEmpty)
        #expect(matched.allSatisfy { $0.unit == "postgresql@15-main.service" })

        let all = try JournalReader(.directory(directory))
        try all.seekHead()
        let first = try #require(try all.next())
        let second = try #require(try all.next())
        let resumed = try JournalReader(.directory(directory))
        try resumed.seek(cursor: first.cursor)
        let again = try #require(try resumed.next())
        #expect(resumed.currentMatches(cursor: first.cursor))
        #expect(again.cursor == first.cursor)
        #expect(try resumed.next()?.cursor == second.cursor)
    }

    @Test func aMissingDirectoryIsAnError() {
        #expect(throws: JournalError.self) {
            let reader = try JournalReader(.directory("/nonexistent/journal"))
            try reader.seekHead()
            _ = try reader.next()
        }
    }
}

/// What the reader leaves resident of the journal files libsystemd maps.
/// Serialized: a release drops every journal mapping of the process, the other case's too.
@Suite(.serialized) struct JournalMappedPagesTests {
    /// Reads a byte of every page of this process's mappings of `directory`'s journal files, as the
    /// reader's next accesses would; returns their size.
    static func touchJournalMappings(_ directory: String) -> Int {
        guard let handle = FileHandle(forReadingAtPath: "/proc/self/maps") else { return 0 }
        let maps = String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
        try? handle.close()
        var total = 0
        var sum: UInt8 = 0
        for line in maps.split(separator: "\n") where line.hasSuffix(".journal") && line.contains(directory) {
            let range = line.split(separator: " ")[0].split(separator: "-").compactMap { UInt(String($0), radix: 16) }
            guard range.count == 2, let start = UnsafeRawPointer(bitPattern: range[0]) else { continue }
            for offset in stride(from: 0, to: Int(range[1] - range[0]), by: 4096) {
                sum &+= start.load(fromByteOffset: offset, as: UInt8.self)
            }
            total += Int(range[1] - range[0])
        }
        withExtendedLifetime(sum) {}
        return total
    }

    /// Resident bytes of this process's mappings of `directory`'s journal files.
    static func residentJournalBytes(_ directory: String) -> Int {
        // Read to the end (a procfs file reports size 0, and a read by size gets a part of it).
        guard let handle = FileHandle(forReadingAtPath: "/proc/self/smaps") else { return -1 }
        let smaps = String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
        try? handle.close()
        var total = 0
        var inJournal = false
        for line in smaps.split(separator: "\n") {
            if let first = line.first, first.isHexDigit, line.contains("-"), line.split(separator: " ").count >= 5 {
                inJournal = line.hasSuffix(".journal") && line.contains(directory)
            } else if inJournal, line.hasPrefix("Rss:") {
                total += (Int(line.split(separator: " ")[1]) ?? 0) * 1024
            }
        }
        return total
    }

    /// Whether this kernel has PROCMAP_QUERY (Linux 6.11).
    static var kernelHasProcmapQuery: Bool {
        var name = utsname()
        uname(&name)
        let release = withUnsafeBytes(of: &name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let parts = release.split(whereSeparator: { !$0.isNumber }).prefix(2).compactMap { Int($0) }
        return parts.count == 2 && (parts[0], parts[1]) >= (6, 11)
    }

    /// The ioctl helper on a shared mapping of a file of our own: found by an address before it
    /// and by one inside it, its path given; with a name buffer too small for the path, the range
    /// alone with an empty name (the ENAMETOOLONG path); and nothing past the last such mapping.
    @Test(.enabled(if: kernelHasProcmapQuery, "needs PROCMAP_QUERY (Linux 6.11)"))
    func theMappingQueryFindsASharedFileMapping() throws {
        let path = NSTemporaryDirectory() + "obs-procmap-\(UUID().uuidString).journal"
        FileManager.default.createFile(atPath: path, contents: Data(repeating: 7, count: 1 << 20))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let file = open(path, O_RDONLY)
        defer { close(file) }
        let length = 1 << 20
        let mapped = try #require(mmap(nil, length, PROT_READ, MAP_SHARED, file, 0))
        #expect(mapped != MAP_FAILED)
        defer { munmap(mapped, length) }
        let maps = open("/proc/self/maps", O_RDONLY)
        defer { close(maps) }
        let address = UInt64(UInt(bitPattern: mapped))

        func query(from: UInt64, nameSize: Int) -> (Int32, UInt64, UInt64, String) {
            var start: UInt64 = 0
            var end: UInt64 = 0
            var name = [CChar](repeating: 65, count: max(nameSize, 1))
            let result = name.withUnsafeMutableBufferPointer {
                obs_next_shared_file_mapping(maps, from, &start, &end, $0.baseAddress, UInt32(nameSize))
            }
            return (
                result, start, end,
                String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            )
        }
        // From an address inside the mapping, and from just below it: the next shared file
        // mapping at or after the address is ours (this suite's journals are closed by now).
        for from in [address + 4096, address - 1] {
            let (result, start, end, name) = query(from: from, nameSize: 4096)
            #expect(result == 0 && start == address && end == address + UInt64(length), "from \(from)")
            #expect(name.hasSuffix(path.split(separator: "/").last.map(String.init) ?? "?"), "\(name)")
        }
        let (short, start, end, name) = query(from: address, nameSize: 8)
        #expect(short == 0 && start == address && end == address + UInt64(length))
        #expect(name.isEmpty, "a path longer than the buffer: no name, not a cut one (\(name))")
        var last: UInt64 = 0
        while case (0, _, let end, _) = query(from: last, nameSize: 4096) { last = end }
        #expect(query(from: last, nameSize: 4096).0 == -ENOENT)
    }

    @Test(arguments: [true, false])
    func releasingDropsTheReadPagesAndReadingGoesOnUnchanged(query: Bool) throws {
        let directory = JournalFixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let base = JournalFixture.now - 60_000_000
        let padding = String(repeating: "x", count: 400)
        try JournalFixture.write(
            (0..<30_000).map {
                JournalFixture.entry(
                    $0, unit: "a.service", message: "entry \($0) \(padding)", realtime: base + UInt64($0))
            },
            to: directory)
        let reader = try JournalReader(.directory(directory))
        try reader.seekHead()
        var read = 0
        for round in 0..<2 {
            while read < 10_000 * (round + 1), let entry = try reader.next() {
                #expect(entry.message == "entry \(read) \(padding)", "pages fault back in unchanged")
                read += 1
            }
            // Other suites of this process release too (every journal mapping of the process): fault
            // this reader's windows in again just before measuring, so that what is resident here does
            // not depend on when they last did (and again if one did in between, at most twice).
            var touched = 0
            var before = 0
            for _ in 0..<3 where before < touched - (64 << 10) || touched == 0 {
                touched = Self.touchJournalMappings(directory)
                before = Self.residentJournalBytes(directory)
            }
            #expect(
                before > 4 << 20 && before >= touched - (64 << 10),
                "the reader's windows resident before (\(before) of \(touched))")
            #expect(JournalReader.releaseMappedPages(query: query) > 0)
            let after = Self.residentJournalBytes(directory)
            #expect(after < 512 << 10, "released: \(before) → \(after) bytes")
        }
        while let entry = try reader.next() {
            #expect(entry.message == "entry \(read) \(padding)")
            read += 1
        }
        #expect(read == 30_000)
        if query {
            let fd = open("/proc/self/maps", O_RDONLY)
            defer { close(fd) }
            #expect(
                (JournalReader.releaseQueried(fd) != nil) == Self.kernelHasProcmapQuery,
                "the ioctl is used where the kernel has it")
        }
    }
}
