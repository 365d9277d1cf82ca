/// A run of bytes inside a scrape body or the parser's scratch space: what the parser hands out
/// instead of strings, so that reading a sample allocates nothing.
///
/// A span is valid only during the callback it was given to; copy what must be kept
/// (``string``) before returning.
public struct ByteSpan: CustomStringConvertible {
    public let base: UnsafeRawPointer?
    public let count: Int

    @inlinable
    package init(base: UnsafeRawPointer?, count: Int) {
        self.base = base
        self.count = count
    }

    package static var empty: ByteSpan { ByteSpan(base: nil, count: 0) }

    package var isEmpty: Bool { count == 0 }

    @inlinable
    package subscript(index: Int) -> UInt8 { base!.load(fromByteOffset: index, as: UInt8.self) }

    package var buffer: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    /// A copy as a String (invalid UTF-8 repaired).
    package var string: String { String(decoding: buffer, as: UTF8.self) }

    public var description: String { string }

    /// Whether the bytes spell `text`.
    @inlinable
    package func equals(_ text: StaticString) -> Bool {
        guard text.utf8CodeUnitCount == count else { return false }
        return count == 0 || memcmpBytes(base!, UnsafeRawPointer(text.utf8Start), count)
    }

    @inlinable
    package func equals(_ other: ByteSpan) -> Bool {
        guard other.count == count else { return false }
        return count == 0 || memcmpBytes(base!, other.base!, count)
    }

    @inlinable
    package func hasPrefix(_ text: StaticString) -> Bool {
        guard text.utf8CodeUnitCount <= count else { return false }
        return text.utf8CodeUnitCount == 0
            || memcmpBytes(base!, UnsafeRawPointer(text.utf8Start), text.utf8CodeUnitCount)
    }

    @inlinable
    package func hasSuffix(_ text: StaticString) -> Bool {
        let n = text.utf8CodeUnitCount
        guard n <= count else { return false }
        return n == 0 || memcmpBytes(base! + (count - n), UnsafeRawPointer(text.utf8Start), n)
    }

    /// The first `count - n` bytes.
    @inlinable
    package func dropLast(_ n: Int) -> ByteSpan { ByteSpan(base: base, count: Swift.max(0, count - n)) }
}

@inlinable
func memcmpBytes(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, _ n: Int) -> Bool {
    var i = 0
    while i < n {
        if a.load(fromByteOffset: i, as: UInt8.self) != b.load(fromByteOffset: i, as: UInt8.self) { return false }
        i += 1
    }
    return true
}

extension ByteSpan {
    /// The first `n` bytes.
    @inlinable
    package func prefix(_ n: Int) -> ByteSpan { ByteSpan(base: base, count: Swift.min(n, count)) }
}

/// Bytes kept as a dictionary or set key, hashed in one pass rather than byte by byte.
struct ByteKey: Hashable {
    var bytes: [UInt8]

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    func hash(into hasher: inout Hasher) {
        bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
    }
}
