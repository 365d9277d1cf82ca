import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension Error {
    /// A file operation's failure in words for a log line or a config error: the system's text for
    /// the POSIX error under it ("No such file or directory"), else the error as it prints.
    /// (FoundationEssentials has no `localizedDescription`.)
    package var fileErrorText: String {
        if let posix = self as? POSIXError { return String(cString: strerror(posix.code.rawValue)) }
        if let cocoa = self as? CocoaError, let posix = cocoa.underlying as? POSIXError {
            return String(cString: strerror(posix.code.rawValue))
        }
        return String(describing: self)
    }
}
