import ObsCore
import Synchronization

/// The AWS SDKs' standard retry mode: capped exponential backoff with full jitter, and a retry
/// quota (a token bucket) that stops retries from piling onto a service that is failing.
public final class RetryPolicy: Sendable {
    /// The standard mode's bucket: 500 tokens; a retry costs 5 (10 after a timeout); a success
    /// without retry puts 1 back, a success after retries puts back what the retries took.
    package static let quotaCapacity = 500
    package static let retryCost = 5
    package static let timeoutRetryCost = 10
    package static let noRetryIncrement = 1
    /// Backoff: a random time up to min(base × 2^attempt, cap).
    package let baseBackoff: Double
    package let maxBackoff: Double

    private let tokens = Mutex(RetryPolicy.quotaCapacity)

    public init(baseBackoff: Double = 1, maxBackoff: Double = 20) {
        self.baseBackoff = baseBackoff
        self.maxBackoff = maxBackoff
    }

    /// Seconds to wait before attempt `attempt + 1` (attempt counts from 1).
    package func backoff(attempt: Int) -> Double {
        Backoff(base: 2 * baseBackoff, cap: maxBackoff, jitter: .full).delay(afterFailures: attempt)
    }

    /// Takes the cost of one retry from the quota; false when the quota is spent (do not retry now).
    package func acquireRetry(afterTimeout: Bool) -> Bool {
        let cost = afterTimeout ? Self.timeoutRetryCost : Self.retryCost
        return tokens.withLock { tokens in
            guard tokens >= cost else { return false }
            tokens -= cost
            return true
        }
    }

    /// The wait before trying again after failure number `failures` of one request: a backoff when
    /// the quota has a retry to give (its cost is added to `retryCosts`, to give back on success),
    /// else the cap.
    package func waitAfterFailure(_ failures: Int, afterTimeout: Bool, retryCosts: inout Int) -> Double {
        guard acquireRetry(afterTimeout: afterTimeout) else { return maxBackoff }
        retryCosts += afterTimeout ? Self.timeoutRetryCost : Self.retryCost
        return backoff(attempt: failures)
    }

    /// Gives back to the quota after a success: `retryCostsTaken` (what its retries took) or, for
    /// a first-try success, the no-retry increment.
    package func recordSuccess(retryCostsTaken: Int) {
        tokens.withLock { tokens in
            tokens = min(Self.quotaCapacity, tokens + (retryCostsTaken > 0 ? retryCostsTaken : Self.noRetryIncrement))
        }
    }

    /// Tokens left, for tests and self-metrics.
    package var availableTokens: Int { tokens.withLock { $0 } }
}
