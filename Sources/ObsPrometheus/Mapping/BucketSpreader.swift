/// Turns one interval's histogram bucket counts into weighted points for a distribution: the
/// observations of each bucket are spread evenly inside it, so that percentiles read back from the
/// points agree with Prometheus' `histogram_quantile` (linear within a bucket) to a fraction of the
/// bucket's width, and the total count is exact.
enum BucketSpreader {
    /// Points per bucket at most: enough to interpolate, few enough to keep the ring and the
    /// datum small.
    static let pointsPerBucket = 8

    /// - Parameters:
    ///   - bounds: the buckets' upper bounds (`le`), ascending, the last one +Inf.
    ///   - counts: the observations that fell in each bucket this interval (not cumulative).
    ///   - maximum: the largest observation, if known (Micrometer's `_max`): where the +Inf
    ///     bucket's observations are put; else at the last finite bound.
    ///   - emit: called with (value, weight) for each point, weights being whole numbers.
    static func spread(bounds: [Double], counts: [Double], maximum: Double?, emit: (Double, Double) -> Void) {
        var lower = 0.0
        for (i, upper) in bounds.enumerated() {
            let count = counts[i].rounded()
            defer { lower = upper.isFinite ? upper : lower }
            guard count >= 1 else { continue }
            if i == 0, upper <= 0 {
                emit(upper, count)
                continue
            }
            if !upper.isFinite {
                let top = maximum.map { Swift.max($0, lower) } ?? lower
                emit(top, count)
                continue
            }
            let from = i == 0 ? Swift.min(0, upper) : lower
            let points = Int(Swift.min(count, Double(pointsPerBucket)))
            let base = (count / Double(points)).rounded(.down)
            var extra = Int(count - base * Double(points))
            for j in 0..<points {
                let weight = base + (extra > 0 ? 1 : 0)
                if extra > 0 { extra -= 1 }
                emit(from + (upper - from) * (Double(j) + 0.5) / Double(points), weight)
            }
        }
    }
}
