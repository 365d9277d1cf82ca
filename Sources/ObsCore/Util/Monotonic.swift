#if canImport(Glibc)
    import Glibc
#endif

/// Seconds on the monotonic clock, for measuring how long something waited: unlike the wall clock,
/// it never jumps when NTP steps the time or an operator sets it, so a batch's age or a retry's wait
/// cannot stretch to hours after a backward jump. Timestamps sent to AWS stay on the wall clock.
public enum Monotonic {
    package static func seconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}
