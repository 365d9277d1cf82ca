import FoundationEssentials
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Standard output, one whole line at a time even when several tasks write (log lines and EMF
/// events share it).
public enum StandardOutput {
    private static let lock = Mutex(())

    public static let writeLine: @Sendable (String) -> Void = { line in
        lock.withLock { _ in write(line, to: 1) }
    }

    /// `line` and a newline to standard error (a one-line error before logging is set up).
    package static func writeErrorLine(_ line: String) {
        write(line, to: 2)
    }

    private static func write(_ line: String, to descriptor: Int32) {
        var bytes = Array(line.utf8)
        bytes.append(0x0A)
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let n = Glibc.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if n <= 0 { break }
                offset += n
            }
        }
    }
}
