#if canImport(Glibc)
    import Glibc
#endif

/// A libsystemd journal call that failed, with the call and the errno it returned.
public struct JournalError: Error, Sendable, Equatable, CustomStringConvertible {
    package var call: String
    package var errno: Int32

    public var description: String {
        "journal: \(call) failed: \(String(cString: strerror(errno))) (errno \(errno))"
    }
}
