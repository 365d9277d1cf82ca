/// A registered series (a metric and one set of its dimensions), as a dense integer the recorder
/// and aggregator index arrays with. Get one from ``Recorder/series(_:_:)``; keep it.
public struct SeriesID: Hashable, Sendable {
    public let rawValue: UInt32

    @inlinable
    init(rawValue: UInt32) {
        self.rawValue = rawValue
    }
}
