#if canImport(Glibc)
    import Glibc
#endif

extension UnsafeRawBufferPointer {
    /// The index of the first `byte` at or after `start`, found with `memchr` (many bytes a step,
    /// where a loop over the buffer takes one); nil when there is none.
    @inline(__always)
    package func firstIndex(ofByte byte: UInt8, from start: Int = 0) -> Int? {
        guard let base = baseAddress, start < count,
            let hit = memchr(base + start, Int32(byte), count - start)
        else { return nil }
        return base.distance(to: UnsafeRawPointer(hit))
    }
}
