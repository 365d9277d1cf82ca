/// A position within one line of a scrape body, with the token readers both formats share.
struct LineCursor {
    let line: ByteSpan
    var index = 0

    init(_ line: ByteSpan) {
        self.line = line
    }

    var atEnd: Bool { index >= line.count }
    var peek: UInt8? { index < line.count ? line[index] : nil }

    mutating func expect(_ byte: UInt8) -> Bool {
        guard peek == byte else { return false }
        index += 1
        return true
    }

    /// Skips spaces and tabs (0.0.4's white space).
    mutating func skipBlanks() {
        while let b = peek, b == UInt8(ascii: " ") || b == UInt8(ascii: "\t") { index += 1 }
    }

    /// The span from `start` to the cursor.
    func span(from start: Int) -> ByteSpan {
        ByteSpan(base: line.base! + start, count: index - start)
    }

    /// The rest of the line.
    var rest: ByteSpan {
        line.count > index ? ByteSpan(base: line.base! + index, count: line.count - index) : .empty
    }

    /// A metric name, `[a-zA-Z_:][a-zA-Z0-9_:]*`; empty when none starts here.
    mutating func metricName() -> ByteSpan {
        let start = index
        guard let first = peek, Self.isNameStart(first) || first == UInt8(ascii: ":") else { return .empty }
        index += 1
        while let b = peek, Self.isNameStart(b) || b == UInt8(ascii: ":") || (b &- 48) < 10 { index += 1 }
        return span(from: start)
    }

    /// A label name, `[a-zA-Z_][a-zA-Z0-9_]*`; empty when none starts here.
    mutating func labelName() -> ByteSpan {
        let start = index
        guard let first = peek, Self.isNameStart(first) else { return .empty }
        index += 1
        while let b = peek, Self.isNameStart(b) || (b &- 48) < 10 { index += 1 }
        return span(from: start)
    }

    /// Bytes up to the next byte in `stops` (or the end of the line).
    mutating func token(until stop1: UInt8, _ stop2: UInt8) -> ByteSpan {
        let start = index
        while let b = peek, b != stop1 && b != stop2 { index += 1 }
        return span(from: start)
    }

    @inline(__always)
    static func isNameStart(_ b: UInt8) -> Bool {
        let lower = b | 0x20
        return (lower >= UInt8(ascii: "a") && lower <= UInt8(ascii: "z")) || b == UInt8(ascii: "_")
    }
}
