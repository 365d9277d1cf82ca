#if canImport(Glibc)
    import Glibc
#endif

/// A listening address as configs and `AWS_XRAY_DAEMON_ADDRESS` write it.
public enum SocketAddress {
    /// `host:port`, `[v6]:port` or `:port` (every address: 0.0.0.0); nil when it is none of these.
    public static func parse(_ text: String) -> (host: String, port: Int)? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (0...65535).contains(port)
        else {
            return nil
        }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host.isEmpty ? "0.0.0.0" : host, port)
    }
}

extension SocketAddress {
    /// A socket of `type` (`SOCK_DGRAM`, `SOCK_STREAM`) bound to `host:port` (an IPv4 or IPv6
    /// literal, or `localhost`; port 0: any free port), `configure` applied to it before the bind,
    /// and listening with `backlog` when given: the descriptor and the port bound.
    package static func bind(
        host: String, port: Int, type: __socket_type, backlog: Int32? = nil, configure: (Int32) -> Void = { _ in }
    ) throws(SocketError) -> (descriptor: Int32, port: Int) {
        var hints = addrinfo()
        hints.ai_socktype = Int32(type.rawValue)
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        var info: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &info) == 0, let address = info else {
            throw .cannotBind("\(host):\(port): not an address")
        }
        defer { freeaddrinfo(info) }
        let fd = socket(address.pointee.ai_family, Int32(type.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .cannotBind("socket: \(String(cString: strerror(errno)))") }
        configure(fd)
        guard Glibc.bind(fd, address.pointee.ai_addr, address.pointee.ai_addrlen) == 0,
            backlog.map({ listen(fd, $0) == 0 }) ?? true
        else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw .cannotBind("\(host):\(port): \(reason)")
        }
        var bound = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        withUnsafeMutablePointer(to: &bound) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = getsockname(fd, $0, &length) }
        }
        let bytes = withUnsafeBytes(of: &bound) { $0.load(fromByteOffset: 2, as: UInt16.self) }
        return (fd, Int(UInt16(bigEndian: bytes)))
    }

    /// Sets an integer socket option.
    package static func set(_ fd: Int32, _ option: Int32, _ value: Int32) {
        var value = value
        setsockopt(fd, SOL_SOCKET, option, &value, socklen_t(MemoryLayout<Int32>.size))
    }
}
