import FoundationEssentials
import ObsCore

#if canImport(Glibc)
    import Glibc
#endif

/// A one-pass JSON reader for segment documents: it checks the whole text is well-formed JSON (RFC
/// 8259) and picks out the fields the agent uses, without building a dictionary of everything,
/// which is what makes a segment cost a few microseconds instead of tens.
struct SegmentScanner {
    /// Where a string value sits in the scanned bytes (between its quotes), and whether it holds
    /// escapes. The agent's own checks (ids, trace ids) read the bytes in place; text is made only
    /// of the strings that are used, and only when they are (`text(_:in:)`).
    struct Span: Equatable {
        var start: Int
        var end: Int
        var escaped: Bool
    }

    /// The fields of a segment document the agent reads.
    struct Fields: Equatable {
        var id: Span?
        var traceID: Span?
        var parentID: Span?
        var type: Span?
        var name: Span?
        var startTime: Double?
        var endTime: Double?
        var inProgress: Bool?
        var fault = false
        var error = false
        var throttle = false
        var hasHTTPRequest = false
        var method: Span?
        var url: Span?
        var status: Double?
        /// For the daemon's header line.
        var format: Span?
        var version: Double?
    }

    /// The text of `span` in `bytes` (the bytes that were scanned), escapes decoded.
    static func text(_ span: Span?, in bytes: UnsafeRawBufferPointer) -> String? {
        guard let span else { return nil }
        let raw = UnsafeRawBufferPointer(rebasing: bytes[span.start..<span.end])
        return span.escaped ? unescape(raw) : String(decoding: raw, as: UTF8.self)
    }

    /// Whether `span` holds exactly `text` (escape-free spans only: the values compared are ASCII words).
    static func span(_ span: Span?, in bytes: UnsafeRawBufferPointer, equals text: StaticString) -> Bool {
        guard let span, !span.escaped, span.end - span.start == text.utf8CodeUnitCount else { return false }
        return memcmp(bytes.baseAddress! + span.start, text.utf8Start, text.utf8CodeUnitCount) == 0
    }

    /// Deeper nesting is refused (a hostile document must not exhaust the stack).
    static let maxDepth = 64

    private let bytes: UnsafeRawBufferPointer
    private var index = 0
    private(set) var fields = Fields()

    private init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    /// The fields of the JSON object in `bytes`, or nil when `bytes` is not one well-formed object.
    static func scan(_ bytes: UnsafeRawBufferPointer) -> Fields? {
        var scanner = SegmentScanner(bytes)
        scanner.skipSpace()
        guard scanner.peek == UInt8(ascii: "{"), scanner.object(path: .root, depth: 1) else { return nil }
        scanner.skipSpace()
        return scanner.index == bytes.count ? scanner.fields : nil
    }

    /// Where a value sits, for the few places whose members are kept.
    private enum Path {
        case root, http, request, response, other
    }

    @inline(__always)
    private var peek: UInt8? { index < bytes.count ? bytes.load(fromByteOffset: index, as: UInt8.self) : nil }

    @inline(__always)
    private mutating func skipSpace() {
        while index < bytes.count {
            switch bytes.load(fromByteOffset: index, as: UInt8.self) {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    @inline(__always)
    private mutating func expect(_ byte: UInt8) -> Bool {
        guard peek == byte else { return false }
        index += 1
        return true
    }

    /// The member names the agent reads.
    private enum Key {
        case id, traceID, parentID, type, name, startTime, endTime, inProgress, fault, error, throttle, http, request,
            response, method, url, status, format, version

        init?(bytes: UnsafeRawBufferPointer) {
            func equals(_ text: StaticString) -> Bool {
                text.utf8CodeUnitCount == bytes.count && memcmp(text.utf8Start, bytes.baseAddress!, bytes.count) == 0
            }
            guard bytes.count > 0 else { return nil }
            switch bytes.count {
            case 2:
                if equals("id") {
                    self = .id
                    return
                }
            case 3:
                if equals("url") {
                    self = .url
                    return
                }
            case 4:
                if equals("type") {
                    self = .type
                    return
                }
                if equals("name") {
                    self = .name
                    return
                }
                if equals("http") {
                    self = .http
                    return
                }
            case 5:
                if equals("fault") {
                    self = .fault
                    return
                }
                if equals("error") {
                    self = .error
                    return
                }
            case 6:
                if equals("method") {
                    self = .method
                    return
                }
                if equals("status") {
                    self = .status
                    return
                }
                if equals("format") {
                    self = .format
                    return
                }
            case 7:
                if equals("request") {
                    self = .request
                    return
                }
                if equals("version") {
                    self = .version
                    return
                }
            case 8:
                if equals("trace_id") {
                    self = .traceID
                    return
                }
                if equals("throttle") {
                    self = .throttle
                    return
                }
                if equals("end_time") {
                    self = .endTime
                    return
                }
                if equals("response") {
                    self = .response
                    return
                }
            case 9:
                if equals("parent_id") {
                    self = .parentID
                    return
                }
            case 10:
                if equals("start_time") {
                    self = .startTime
                    return
                }
            case 11:
                if equals("in_progress") {
                    self = .inProgress
                    return
                }
            default: break
            }
            return nil
        }
    }

    /// Reads one value at `path`; keeps it in `fields` when `key` (its member name) is wanted there.
    private mutating func value(path: Path, depth: Int, key: Key? = nil) -> Bool {
        guard depth <= Self.maxDepth, let first = peek else { return false }
        switch first {
        case UInt8(ascii: "{"):
            return object(path: child(of: path, key: key), depth: depth + 1)
        case UInt8(ascii: "["):
            return array(depth: depth + 1)
        case UInt8(ascii: "\""):
            guard let range = stringRange() else { return false }
            if !range.ascii && !Self.isValidUTF8(UnsafeRawBufferPointer(rebasing: bytes[range.start..<range.end])) {
                return false
            }
            if let key, wantsString(at: path, key: key) {
                keep(span: Span(start: range.start, end: range.end, escaped: range.escaped), at: path, key: key)
            }
            return true
        case UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"):
            return literal(path: path, key: key)
        default:
            let wanted = wantsNumber(at: path, key: key)
            guard let number = number(convert: wanted) else { return false }
            if wanted { keep(number: number, at: path, key: key) }
            return true
        }
    }

    private func child(of path: Path, key: Key?) -> Path {
        switch (path, key) {
        case (.root, .http): return .http
        case (.http, .request): return .request
        case (.http, .response): return .response
        default: return .other
        }
    }

    private func wantsString(at path: Path, key: Key) -> Bool {
        switch (path, key) {
        case (.root, .id), (.root, .traceID), (.root, .parentID), (.root, .type), (.root, .name), (.root, .format),
            (.request, .method), (.request, .url):
            return true
        default:
            return false
        }
    }

    /// UTF-8 well-formedness of a string's raw bytes (the strings the agent does not read are only checked).
    static func isValidUTF8(_ raw: UnsafeRawBufferPointer) -> Bool {
        var i = 0
        let n = raw.count
        while i < n {
            let b = raw[i]
            if b < 0x80 {
                i += 1
                continue
            }
            let length: Int
            if b & 0xE0 == 0xC0 && b >= 0xC2 {
                length = 2
            } else if b & 0xF0 == 0xE0 {
                length = 3
            } else if b & 0xF8 == 0xF0 && b <= 0xF4 {
                length = 4
            } else {
                return false
            }
            guard i + length <= n else { return false }
            for k in 1..<length where raw[i + k] & 0xC0 != 0x80 { return false }
            if length == 3 {
                let c = raw[i + 1]
                if (b == 0xE0 && c < 0xA0) || (b == 0xED && c >= 0xA0) { return false }
            } else if length == 4 {
                let c = raw[i + 1]
                if (b == 0xF0 && c < 0x90) || (b == 0xF4 && c >= 0x90) { return false }
            }
            i += length
        }
        return true
    }

    private mutating func object(path: Path, depth: Int) -> Bool {
        index += 1  // {
        if path == .request { fields.hasHTTPRequest = true }
        skipSpace()
        if expect(UInt8(ascii: "}")) { return true }
        while true {
            skipSpace()
            guard peek == UInt8(ascii: "\""), let range = stringRange() else { return false }
            if !range.ascii && !Self.isValidUTF8(UnsafeRawBufferPointer(rebasing: bytes[range.start..<range.end])) {
                return false
            }
            // Only the members the agent reads need their name; none of them has escapes.
            let key: Key? =
                path == .other || range.escaped
                ? nil : Key(bytes: UnsafeRawBufferPointer(rebasing: bytes[range.start..<range.end]))
            skipSpace()
            guard expect(UInt8(ascii: ":")) else { return false }
            skipSpace()
            guard value(path: path, depth: depth, key: key) else { return false }
            skipSpace()
            if expect(UInt8(ascii: ",")) { continue }
            return expect(UInt8(ascii: "}"))
        }
    }

    private mutating func array(depth: Int) -> Bool {
        index += 1  // [
        skipSpace()
        if expect(UInt8(ascii: "]")) { return true }
        while true {
            skipSpace()
            guard value(path: .other, depth: depth) else { return false }
            skipSpace()
            if expect(UInt8(ascii: ",")) { continue }
            return expect(UInt8(ascii: "]"))
        }
    }

    private mutating func literal(path: Path, key: Key?) -> Bool {
        func matches(_ word: StaticString) -> Bool {
            index + word.utf8CodeUnitCount <= bytes.count
                && memcmp(word.utf8Start, bytes.baseAddress! + index, word.utf8CodeUnitCount) == 0
        }
        let value: Bool?
        if matches("true") {
            index += 4
            value = true
        } else if matches("false") {
            index += 5
            value = false
        } else if matches("null") {
            index += 4
            return true
        } else {
            return false
        }
        if let value, path == .root {
            switch key {
            case .fault: fields.fault = value
            case .error: fields.error = value
            case .throttle: fields.throttle = value
            case .inProgress: fields.inProgress = value
            default: break
            }
        }
        return true
    }

    /// The bytes of a JSON string (between its quotes), checked for form (no control characters,
    /// valid escapes); nil when malformed. UTF-8 is checked by the caller when `ascii` is false.
    ///
    /// Eight bytes at a time: a word with no quote, backslash or control character in it (the
    /// common case: ids, names, URLs) costs a few instructions; the first such byte is found with
    /// one count of trailing zeros.
    private mutating func stringRange() -> (start: Int, end: Int, escaped: Bool, ascii: Bool)? {
        index += 1  // "
        let start = index
        var escaped = false
        var high: UInt64 = 0
        let count = bytes.count
        let base = bytes.baseAddress!
        while true {
            // Skip the ordinary bytes.
            while index + 8 <= count {
                let word = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: index, as: UInt64.self))
                let stops = JSONText.stopBytes(word)
                if stops == 0 {
                    high |= word
                    index += 8
                    continue
                }
                let ordinary = stops.trailingZeroBitCount >> 3
                if ordinary > 0 { high |= word & ((1 << UInt64(ordinary * 8)) &- 1) }
                index += ordinary
                break
            }
            // One byte at a time near the end, and at each stop byte.
            guard index < count else { return nil }
            let byte = base.load(fromByteOffset: index, as: UInt8.self)
            switch byte {
            case UInt8(ascii: "\""):
                let end = index
                index += 1
                return (start, end, escaped, high & 0x8080_8080_8080_8080 == 0)
            case UInt8(ascii: "\\"):
                escaped = true
                index += 1
                guard let next = peek else { return nil }
                switch next {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                    UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    index += 1
                case UInt8(ascii: "u"):
                    guard index + 5 <= count, bytes[(index + 1)..<(index + 5)].allSatisfy(Self.isHexDigit) else {
                        return nil
                    }
                    index += 5
                default:
                    return nil
                }
            case 0..<0x20:
                return nil
            default:
                high |= UInt64(byte)
                index += 1
            }
        }
    }

    private static func isHexDigit(_ byte: UInt8) -> Bool {
        (byte >= 48 && byte <= 57) || (byte >= 65 && byte <= 70) || (byte >= 97 && byte <= 102)
    }

    /// Decodes escapes (including `\u` surrogate pairs) in a string already checked for form.
    private static func unescape(_ raw: UnsafeRawBufferPointer) -> String? {
        var scalars = String.UnicodeScalarView()
        var utf8: [UInt8] = []
        var i = 0
        func flush() -> Bool {
            guard !utf8.isEmpty else { return true }
            guard let text = String(validating: utf8, as: UTF8.self) else { return false }
            scalars.append(contentsOf: text.unicodeScalars)
            utf8.removeAll(keepingCapacity: true)
            return true
        }
        func hex4(_ at: Int) -> UInt32 {
            raw[at..<(at + 4)].reduce(0) { $0 << 4 | UInt32($1 <= 57 ? $1 - 48 : ($1 | 0x20) - 87) }
        }
        while i < raw.count {
            let byte = raw[i]
            guard byte == UInt8(ascii: "\\") else {
                utf8.append(byte)
                i += 1
                continue
            }
            guard flush() else { return nil }
            let code = raw[i + 1]
            i += 2
            switch code {
            case UInt8(ascii: "b"): scalars.append("\u{08}")
            case UInt8(ascii: "f"): scalars.append("\u{0C}")
            case UInt8(ascii: "n"): scalars.append("\n")
            case UInt8(ascii: "r"): scalars.append("\r")
            case UInt8(ascii: "t"): scalars.append("\t")
            case UInt8(ascii: "u"):
                var value = hex4(i)
                i += 4
                if (0xD800..<0xDC00).contains(value), i + 6 <= raw.count, raw[i] == UInt8(ascii: "\\"),
                    raw[i + 1] == UInt8(ascii: "u")
                {
                    let low = hex4(i + 2)
                    if (0xDC00..<0xE000).contains(low) {
                        value = 0x10000 + ((value - 0xD800) << 10) + (low - 0xDC00)
                        i += 6
                    }
                }
                scalars.append(Unicode.Scalar(value) ?? "\u{FFFD}")
            default: scalars.append(Unicode.Scalar(code))
            }
        }
        guard flush() else { return nil }
        return String(scalars)
    }

    private func wantsNumber(at path: Path, key: Key?) -> Bool {
        switch (path, key) {
        case (.root, .startTime), (.root, .endTime), (.root, .version), (.response, .status): return true
        default: return false
        }
    }

    /// A JSON number (`-? int frac? exp?`), checked, and converted to a Double when `convert`.
    private mutating func number(convert: Bool) -> Double? {
        let start = index
        _ = expect(UInt8(ascii: "-"))
        guard let first = peek, first >= 48 && first <= 57 else { return nil }
        index += 1
        if first != UInt8(ascii: "0") { while let d = peek, d >= 48 && d <= 57 { index += 1 } }
        if expect(UInt8(ascii: ".")) {
            guard let d = peek, d >= 48 && d <= 57 else { return nil }
            while let d = peek, d >= 48 && d <= 57 { index += 1 }
        }
        if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
            index += 1
            if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { index += 1 }
            guard let d = peek, d >= 48 && d <= 57 else { return nil }
            while let d = peek, d >= 48 && d <= 57 { index += 1 }
        }
        guard convert else { return 0 }
        return Self.decimal(UnsafeRawBufferPointer(rebasing: bytes[start..<index]))
    }

    /// Powers of ten that a Double holds exactly.
    private static let exactPowersOfTen: [Double] = (0...22).map { power in
        (0..<power).reduce(1.0) { value, _ in value * 10 }
    }

    /// The value of a number already checked for form. Segment times (`1795729074.1045`) and
    /// status codes take the exact fast path: a significand of at most 2^53 and a power of ten of
    /// at most 22 give a correctly rounded result with one multiplication or division. Anything
    /// else goes to `strtod`.
    static func decimal(_ text: UnsafeRawBufferPointer) -> Double? {
        var i = 0
        let negative = text.first == UInt8(ascii: "-")
        if negative { i += 1 }
        var significand: UInt64 = 0
        var exponent = 0
        var exact = true
        var seenPoint = false
        while i < text.count {
            let byte = text[i]
            if byte == UInt8(ascii: ".") {
                seenPoint = true
            } else if byte >= 48 && byte <= 57 {
                let (times10, overflow1) = significand.multipliedReportingOverflow(by: 10)
                let (next, overflow2) = times10.addingReportingOverflow(UInt64(byte - 48))
                if overflow1 || overflow2 {
                    exact = false
                    break
                }
                significand = next
                if seenPoint { exponent -= 1 }
            } else {
                break  // an exponent: rare in segments
            }
            i += 1
        }
        if exact && i == text.count && significand <= 1 << 53 && exponent >= -22 {
            let value = Double(significand)
            let scaled = exponent == 0 ? value : value / exactPowersOfTen[-exponent]
            return negative ? -scaled : scaled
        }
        let length = text.count
        guard length < 64 else { return Double(String(decoding: text, as: UTF8.self)) }
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: length + 1) { buffer in
            for k in 0..<length { buffer[k] = CChar(bitPattern: text[k]) }
            buffer[length] = 0
            return strtod(buffer.baseAddress!, nil)
        }
    }

    private mutating func keep(span: Span, at path: Path, key: Key) {
        switch (path, key) {
        case (.root, .id): fields.id = span
        case (.root, .traceID): fields.traceID = span
        case (.root, .parentID): fields.parentID = span
        case (.root, .type): fields.type = span
        case (.root, .name): fields.name = span
        case (.root, .format): fields.format = span
        case (.request, .method): fields.method = span
        case (.request, .url): fields.url = span
        default: break
        }
    }

    private mutating func keep(number: Double, at path: Path, key: Key?) {
        switch (path, key) {
        case (.root, .startTime): fields.startTime = number
        case (.root, .endTime): fields.endTime = number
        case (.root, .version): fields.version = number
        case (.response, .status): fields.status = number
        default: break
        }
    }
}
