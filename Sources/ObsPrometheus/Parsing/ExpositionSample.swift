/// One sample as the parser reads it, handed to the caller's closure. Its spans point into the
/// scrape body and the parser's scratch space: valid only during the call.
public struct ExpositionSample {
    /// The family's name (the metric name without `_total`, `_bucket`, ... suffixes).
    package var familyName: ByteSpan
    package var familyType: MetricType
    /// A number that stays the same for every sample of one family within one parse, so that a
    /// consumer can decide once per family what to do with its samples.
    package var familyIndex: Int
    /// The sample's own name, suffix included.
    public var name: ByteSpan
    package var suffix: SampleSuffix
    package var labels: LabelSpans
    public var value: Double
    /// Seconds since the epoch, when the sample carries a timestamp (0.0.4 milliseconds are
    /// converted).
    package var timestamp: Double?
}

/// A sample's labels, in the order they were written.
public struct LabelSpans {
    let storage: UnsafePointer<LabelSpan>
    public let count: Int

    public struct LabelSpan {
        public var name: ByteSpan
        public var value: ByteSpan
    }

    package subscript(index: Int) -> LabelSpan { storage[index] }

    /// The value of the label `name`, if the sample has it.
    package subscript(name: StaticString) -> ByteSpan? {
        for i in 0..<count where self[i].name.equals(name) { return self[i].value }
        return nil
    }
}
