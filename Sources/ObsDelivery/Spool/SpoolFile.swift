import FoundationEssentials
import ObsAWS
import ObsCore
import ObsNet

#if canImport(Glibc)
    import Glibc
#endif

/// The on-disk form of one batch:
///
///     "OBSB" version(1) headerLength(u32 LE) header(JSON) payloadLength(u64 LE) payload crc32(u32 LE)
///
/// written to a temporary name, fsynced, renamed into place and the directory fsynced, so a batch
/// file is either whole or absent after a crash. The CRC catches a disk that returns other bytes.
enum SpoolFile {
    static let magic: [UInt8] = Array("OBSB".utf8)
    static let version: UInt8 = 1

    static func encode(_ batch: SpooledBatch) throws -> [UInt8] {
        let header = try JSONEncoder().encode(
            SpoolHeader(kind: batch.kind, created: batch.created, items: batch.items, attributes: batch.attributes))
        var bytes = magic
        bytes.append(version)
        append(UInt32(header.count), to: &bytes)
        bytes.append(contentsOf: header)
        append(UInt64(batch.payload.count), to: &bytes)
        bytes.append(contentsOf: batch.payload)
        append(UInt32(checksum(bytes)), to: &bytes)
        return bytes
    }

    /// The batch in `bytes`, or nil when they are not a whole, intact batch file.
    static func decode(_ bytes: [UInt8]) -> SpooledBatch? {
        guard bytes.count >= 4 + 1 + 4 + 8 + 4, Array(bytes[0..<4]) == magic, bytes[4] == version else { return nil }
        let body = bytes[..<(bytes.count - 4)]
        guard read(UInt32.self, bytes, at: bytes.count - 4) == UInt32(checksum(Array(body))) else { return nil }
        let headerLength = Int(read(UInt32.self, bytes, at: 5))
        let headerEnd = 9 + headerLength
        guard headerEnd + 8 <= body.count else { return nil }
        guard let header = try? JSONDecoder().decode(SpoolHeader.self, from: Data(bytes[9..<headerEnd])) else {
            return nil
        }
        let payloadLength = Int(read(UInt64.self, bytes, at: headerEnd))
        guard headerEnd + 8 + payloadLength == body.count else { return nil }
        return SpooledBatch(
            kind: header.kind, created: header.created, items: header.items, attributes: header.attributes,
            payload: Array(bytes[(headerEnd + 8)..<body.count]))
    }

    static func checksum(_ bytes: [UInt8]) -> UInt {
        UInt(Gzip.crc32(bytes))
    }

    private static func append<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    private static func read<T: FixedWidthInteger>(_ type: T.Type, _ bytes: [UInt8], at offset: Int) -> T {
        var value: T = 0
        withUnsafeMutableBytes(of: &value) { target in
            for i in 0..<MemoryLayout<T>.size { target[i] = bytes[offset + i] }
        }
        return T(littleEndian: value)
    }

    /// The last component of `path`.
    static func fileName(_ path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? path
    }

    /// Writes `bytes` to `path` crash-safely: temporary file, fsync, rename, fsync of the directory.
    static func writeDurably(_ bytes: [UInt8], to path: String, directory: String) throws {
        let temporary = directory + "/." + fileName(path) + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw SpoolError(message: "cannot create \(temporary): \(String(cString: strerror(errno)))")
        }
        var written = 0
        let ok = bytes.withUnsafeBytes { buffer -> Bool in
            while written < buffer.count {
                let n = write(fd, buffer.baseAddress! + written, buffer.count - written)
                if n < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                written += n
            }
            return fsync(fd) == 0
        }
        let writeErrno = errno
        close(fd)
        guard ok else {
            unlink(temporary)
            throw SpoolError(message: "cannot write \(temporary): \(String(cString: strerror(writeErrno)))")
        }
        guard rename(temporary, path) == 0 else {
            let renameErrno = errno
            unlink(temporary)
            throw SpoolError(message: "cannot rename into \(path): \(String(cString: strerror(renameErrno)))")
        }
        syncDirectory(directory)
    }

    static func syncDirectory(_ directory: String) {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 {
            fsync(fd)
            close(fd)
        }
    }
}
