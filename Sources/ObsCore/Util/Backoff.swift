/// Capped exponential backoff with jitter: the one backoff of the agent. The shippers' retry
/// policy, a source's reconnection and the journal's reopening all wait by it.
public struct Backoff: Sendable, Equatable {
    /// How the wait is drawn below its ceiling.
    public enum Jitter: Sendable, Equatable {
        /// Anywhere from 0 to the ceiling (the AWS SDKs' standard mode).
        case full
        /// From half the ceiling to the ceiling, so a wait is never short (reconnections).
        case half
        /// The ceiling itself.
        case none
    }

    /// The ceiling after the first failure, in seconds; it doubles with each failure after it.
    public var base: Double
    /// The longest wait, in seconds.
    package var cap: Double
    package var jitter: Jitter

    package init(base: Double = 1, cap: Double, jitter: Jitter) {
        self.base = base
        self.cap = cap
        self.jitter = jitter
    }

    /// The ceiling after `failures` failures in a row (from 1): min(cap, base × 2^(failures − 1)).
    package func ceiling(afterFailures failures: Int) -> Double {
        min(cap, base * Double(1 << min(max(failures, 1) - 1, 30)))
    }

    /// The wait after `failures` failures in a row, drawn as ``jitter`` says.
    package func delay(afterFailures failures: Int) -> Double {
        let ceiling = ceiling(afterFailures: failures)
        switch jitter {
        case .full: return Double.random(in: 0...ceiling)
        case .half: return Double.random(in: (ceiling / 2)...ceiling)
        case .none: return ceiling
        }
    }
}
