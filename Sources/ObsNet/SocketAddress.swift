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
