#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The number grammars of the two formats, checked byte by byte, and a conversion that avoids
/// `strtod` for the common short decimals.
enum NumberParsing {
    /// Powers of ten exactly representable as Doubles.
    static let exactPowers: [Double] = (0...22).map { e in (0..<e).reduce(1.0) { x, _ in x * 10 } }

    /// A decimal real number: `[+-]? (digits [. digits?] | . digits) ([eE] [+-]? digits)?`.
    /// Returns nil when the span is not one.
    static func real(_ span: ByteSpan) -> Double? {
        let n = span.count
        guard n > 0 else { return nil }
        var i = 0
        var negative = false
        if span[0] == UInt8(ascii: "+") || span[0] == UInt8(ascii: "-") {
            negative = span[0] == UInt8(ascii: "-")
            i = 1
        }
        var mantissa: UInt64 = 0
        var significant = 0
        var exponent = 0
        var digits = 0
        while i < n, span[i] &- 48 < 10 {
            let d = UInt64(span[i] &- 48)
            if significant < 19 {
                if mantissa != 0 || d != 0 { significant += 1 }
                mantissa = mantissa * 10 + d
            } else {
                exponent += 1
                significant += 1
            }
            i += 1
            digits += 1
        }
        if i < n, span[i] == UInt8(ascii: ".") {
            i += 1
            while i < n, span[i] &- 48 < 10 {
                let d = UInt64(span[i] &- 48)
                if significant < 19 {
                    if mantissa != 0 || d != 0 { significant += 1 }
                    mantissa = mantissa * 10 + d
                    exponent -= 1
                } else {
                    significant += 1
                }
                i += 1
                digits += 1
            }
        }
        guard digits > 0 else { return nil }
        if i < n, span[i] | 0x20 == UInt8(ascii: "e") {
            i += 1
            var expNegative = false
            if i < n, span[i] == UInt8(ascii: "+") || span[i] == UInt8(ascii: "-") {
                expNegative = span[i] == UInt8(ascii: "-")
                i += 1
            }
            var e = 0
            var expDigits = 0
            while i < n, span[i] &- 48 < 10 {
                if e < 100_000 { e = e * 10 + Int(span[i] &- 48) }
                i += 1
                expDigits += 1
            }
            guard expDigits > 0 else { return nil }
            exponent += expNegative ? -e : e
        }
        guard i == n else { return nil }
        // Clinger's fast path: an exact mantissa times an exact power of ten rounds once.
        if significant <= 15 || mantissa < (1 << 53), significant <= 19, abs(exponent) <= 22 {
            var value = Double(mantissa)
            value = exponent < 0 ? value / exactPowers[-exponent] : value * exactPowers[exponent]
            return negative ? -value : value
        }
        return slow(span)
    }

    /// A value: a real number, or `[+-]?Inf(inity)?` or `NaN` in any case.
    static func value(_ span: ByteSpan) -> Double? {
        if let real = real(span) { return real }
        return special(span)
    }

    /// `[+-]?inf`, `[+-]?infinity` or `nan`, case-insensitive.
    static func special(_ span: ByteSpan) -> Double? {
        var i = 0
        var sign = 1.0
        if span.count > 0, span[0] == UInt8(ascii: "+") || span[0] == UInt8(ascii: "-") {
            sign = span[0] == UInt8(ascii: "-") ? -1 : 1
            i = 1
        }
        let rest = span.count - i
        func lower(_ k: Int) -> UInt8 { span[i + k] | 0x20 }
        if rest == 3, lower(0) == UInt8(ascii: "i"), lower(1) == UInt8(ascii: "n"), lower(2) == UInt8(ascii: "f") {
            return sign * .infinity
        }
        if rest == 8 {
            let word = "infinity".utf8
            if zip(0..<8, word).allSatisfy({ lower($0) == $1 }) { return sign * .infinity }
        }
        if i == 0, rest == 3, lower(0) == UInt8(ascii: "n"), lower(1) == UInt8(ascii: "a"),
            lower(2) == UInt8(ascii: "n")
        {
            return .nan
        }
        return nil
    }

    /// A 0.0.4 timestamp: an integer number of milliseconds, optionally signed.
    static func integer(_ span: ByteSpan) -> Int64? {
        var i = 0
        var negative = false
        if span.count > 0, span[0] == UInt8(ascii: "+") || span[0] == UInt8(ascii: "-") {
            negative = span[0] == UInt8(ascii: "-")
            i = 1
        }
        guard i < span.count else { return nil }
        var value: Int64 = 0
        while i < span.count {
            let d = span[i] &- 48
            guard d < 10 else { return nil }
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(Int64(d))
            guard !o1, !o2 else { return nil }
            value = s
            i += 1
        }
        return negative ? -value : value
    }

    /// strtod on a NUL-terminated copy, for the numbers the fast path cannot convert exactly.
    private static func slow(_ span: ByteSpan) -> Double {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: span.count + 1) { buffer in
            for i in 0..<span.count { buffer[i] = CChar(bitPattern: span[i]) }
            buffer[span.count] = 0
            return strtod(buffer.baseAddress!, nil)
        }
    }
}
