/// A URL path with its identifiers collapsed, so that `/api/users/42` and `/api/users/43` are one
/// route: `/api/users/{id}`. A segment is an identifier when it is a number, a UUID or a
/// hexadecimal string of 8 or more characters with a digit, or longer than 16 characters with a
/// digit. Works on the UTF-8 bytes: it runs for every segment received.
public enum RouteTemplate {
    package static let placeholder = "{id}"

    /// The route of `url` (a full URL or a path): its path with identifiers collapsed, no query.
    package static func route(of url: String) -> String {
        var url = url
        var out: [UInt8] = []
        url.withUTF8 { appendRoute(of: $0, to: &out) }
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends the route of the URL in `bytes` to `out` (what `route(of:)` returns, as bytes).
    package static func appendRoute(of bytes: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        var start = 0
        var end = bytes.count
        // Skip `scheme://host[:port]`.
        if let colon = firstIndex(of: UInt8(ascii: ":"), in: bytes, from: 0), colon + 2 < bytes.count,
            bytes[colon + 1] == UInt8(ascii: "/"), bytes[colon + 2] == UInt8(ascii: "/")
        {
            start = firstIndex(of: UInt8(ascii: "/"), in: bytes, from: colon + 3) ?? bytes.count
        }
        for i in start..<bytes.count where bytes[i] == UInt8(ascii: "?") || bytes[i] == UInt8(ascii: "#") {
            end = i
            break
        }
        guard start < end else {
            out.append(UInt8(ascii: "/"))
            return
        }
        var segmentStart = start
        var i = start
        while i <= end {
            if i == end || bytes[i] == UInt8(ascii: "/") {
                let segment = UnsafeBufferPointer(rebasing: bytes[segmentStart..<i])
                if isIdentifier(segment) {
                    out.append(contentsOf: placeholder.utf8)
                } else {
                    out.append(contentsOf: segment)
                }
                if i < end { out.append(UInt8(ascii: "/")) }
                segmentStart = i + 1
            }
            i += 1
        }
    }

    private static func firstIndex(of byte: UInt8, in bytes: UnsafeBufferPointer<UInt8>, from: Int) -> Int? {
        var i = from
        while i < bytes.count {
            if bytes[i] == byte { return i }
            i += 1
        }
        return nil
    }

    static func isIdentifier(_ segment: UnsafeBufferPointer<UInt8>) -> Bool {
        guard !segment.isEmpty else { return false }
        var digits = 0
        var hexOrDash = 0
        for byte in segment {
            if byte >= 48 && byte <= 57 {
                digits += 1
                hexOrDash += 1
            } else if (byte >= 97 && byte <= 102) || (byte >= 65 && byte <= 70) || byte == UInt8(ascii: "-") {
                hexOrDash += 1
            }
        }
        if digits == segment.count { return true }
        if hexOrDash == segment.count && segment.count >= 8 && digits > 0 { return true }
        return segment.count > 16 && digits > 0
    }
}
