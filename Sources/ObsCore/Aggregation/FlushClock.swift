import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// Interval arithmetic for flushes: data is stamped with the start of the interval it was
/// collected in, so CloudWatch periods line up with ours.
public enum FlushClock {
    /// Seconds since the epoch, now.
    package static func now() -> Double {
        Date().timeIntervalSince1970
    }

    /// The start of the `interval`-second interval that contains `time`.
    package static func boundary(_ time: Double, interval: Double) -> Int64 {
        Int64((time / interval).rounded(.down) * interval)
    }

    /// Seconds from `time` to the end of its interval.
    package static func untilNextBoundary(_ time: Double, interval: Double) -> Double {
        let next = ((time / interval).rounded(.down) + 1) * interval
        return max(0, next - time)
    }
}
