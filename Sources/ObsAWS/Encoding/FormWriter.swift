/// Builds an `application/x-www-form-urlencoded` body byte by byte: the fast path of the
/// PutMetricData encoder, which writes megabytes a flush.
struct FormWriter {
    var bytes: [UInt8] = []

    private static let hex: [UInt8] = Array("0123456789ABCDEF".utf8)

    init(capacity: Int = 0) {
        bytes.reserveCapacity(capacity)
    }

    mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    mutating func raw(_ other: [UInt8]) {
        bytes.append(contentsOf: other)
    }

    /// A whole number in decimal, written without allocating.
    mutating func decimal(_ value: Int64) {
        if value < 0 {
            bytes.append(UInt8(ascii: "-"))
            if value == .min {
                bytes.append(contentsOf: "9223372036854775808".utf8)
                return
            }
        }
        var magnitude = value.magnitude
        var digits:
            (
                UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                UInt8, UInt8, UInt8, UInt8, UInt8, UInt8
            ) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        withUnsafeMutableBytes(of: &digits) { buffer in
            repeat {
                buffer[count] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
                count += 1
            } while magnitude > 0
            for i in stride(from: count - 1, through: 0, by: -1) { bytes.append(buffer[i]) }
        }
    }

    mutating func decimal(_ value: Int) {
        decimal(Int64(value))
    }

    /// A number as the API reads it: integers without a fraction, others in shortest round-trip
    /// form (which needs no percent-encoding but for `+` in exponents).
    mutating func number(_ value: Double) {
        if value == value.rounded(), Swift.abs(value) < 1e15 {
            decimal(Int64(value))
        } else {
            encoded("\(value)")
        }
    }

    /// `text`, form-encoded: unreserved characters as they are, a space as `+`, every other byte
    /// as `%XY` (what HTML forms and Python's `urlencode` produce, so a server that re-encodes the
    /// parsed form to check a signature gets the same bytes).
    mutating func encoded(_ text: String) {
        var text = text
        text.withUTF8 { utf8 in
            for byte in utf8 {
                if URIEncoding.isUnreserved(byte) {
                    bytes.append(byte)
                } else if byte == UInt8(ascii: " ") {
                    bytes.append(UInt8(ascii: "+"))
                } else {
                    bytes.append(UInt8(ascii: "%"))
                    bytes.append(Self.hex[Int(byte >> 4)])
                    bytes.append(Self.hex[Int(byte & 0x0F)])
                }
            }
        }
    }

    /// `&MetricData.member.<index>.`
    mutating func member(_ index: Int) {
        raw("&MetricData.member.")
        decimal(index)
        bytes.append(UInt8(ascii: "."))
    }
}
