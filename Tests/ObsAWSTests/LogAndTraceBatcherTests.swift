import Foundation
import ObsCore
import Testing

@testable import ObsAWS

@Suite struct LogEventBatcherTests {
    let now: Int64 = 1_764_000_000_000

    func event(_ offset: Int64, _ message: String = "m") -> CloudWatchLogEvent {
        CloudWatchLogEvent(timestamp: now + offset, message: message)
    }

    @Test func batchesHoldAtMost10000EventsAndAreSortedStably() {
        var events = (0..<25_000).map { event(Int64(-$0 % 1000), "e\($0)") }
        events.append(event(-999, "last at -999"))
        let (batches, rejected, _) = LogEventBatcher().batches(events, now: now)
        #expect(rejected.isEmpty)
        #expect(batches.map(\.count) == [10_000, 10_000, 5_001])
        let flat = batches.flatMap { $0 }
        #expect(zip(flat, flat.dropFirst()).allSatisfy { $0.timestamp <= $1.timestamp })
        let atMinus999 = flat.filter { $0.timestamp == now - 999 }
        #expect(atMinus999.last?.message == "last at -999", "equal timestamps keep their order")
    }

    @Test func batchesStayUnderTheByteLimitCountingTheOverhead() {
        let message = String(repeating: "x", count: 100_000)
        let (batches, _, _) = LogEventBatcher().batches((0..<25).map { event(Int64($0), message) }, now: now)
        for batch in batches {
            let bytes = batch.reduce(0) { $0 + $1.message.utf8.count + CloudWatchLogsLimits.perEventOverhead }
            #expect(bytes <= CloudWatchLogsLimits.maxBatchBytes)
        }
        #expect(batches.map(\.count) == [10, 10, 5])
    }

    @Test func aBatchSpansAtMost24Hours() {
        let hour: Int64 = 3_600_000
        let events = [event(-13 * 24 * hour), event(-13 * 24 * hour + 1), event(-12 * 24 * hour + 1), event(-hour)]
        let (batches, _, _) = LogEventBatcher().batches(events, now: now)
        #expect(batches.map(\.count) == [2, 1, 1])
        for batch in batches {
            #expect(batch.last!.timestamp - batch.first!.timestamp <= CloudWatchLogsLimits.maxSpanMilliseconds)
        }
    }

    @Test func eventsTooOldOrTooFarAheadAreCountedNotSent() {
        let day: Int64 = 86_400_000
        let events = [event(-15 * day), event(-13 * day), event(3 * 3_600_000), event(0)]
        let (batches, rejected, _) = LogEventBatcher().batches(events, now: now)
        #expect(batches.flatMap { $0 }.count == 2)
        #expect(rejected[.tooOld] == 1)
        #expect(rejected[.tooNew] == 1)
    }

    @Test func anOversizedMessageIsCutAtACharacterWithAMarker() {
        let message = String(repeating: "é", count: 200_000)  // 400,000 bytes
        let (batches, _, truncated) = LogEventBatcher().batches([event(0, message)], now: now)
        #expect(truncated == 1)
        let kept = batches[0][0].message
        #expect(kept.utf8.count <= CloudWatchLogsLimits.maxMessageBytes)
        #expect(kept.hasSuffix("bytes]"))
        #expect(kept.contains("…[truncated "))
        #expect(kept.hasPrefix("éé"))
        #expect(!kept.contains("\u{FFFD}"), "no character was split")
    }

    @Test func theBodyKeepsCarriageReturnsAndNewlinesAsData() throws {
        let events = [event(1, "line one\r\nline two\n\ttabbed \"quoted\" / ünï")]
        let body = LogEventBatcher.body(group: "/ecs/shop", stream: "host/unit", events: events)
        let object = try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any]
        #expect(object?["logGroupName"] as? String == "/ecs/shop")
        let decoded = (object?["logEvents"] as? [[String: Any]])?.first
        #expect(decoded?["message"] as? String == events[0].message)
        #expect((decoded?["timestamp"] as? Int).map(Int64.init) == events[0].timestamp)
    }
}

@Suite struct TraceSegmentBatcherTests {
    @Test func callsHoldAtMost50SegmentsOfAtMost64kB() throws {
        var documents = (0..<120).map {
            #"{"id":"\#(String(format: "%016x", $0))","trace_id":"1-5759e988-bd862e3fe1be46a994272793","name":"s","start_time":1,"end_time":2}"#
        }
        documents.append(String(repeating: "x", count: 64 * 1024 + 1))
        let (batches, oversized) = TraceSegmentBatcher.batches(documents)
        #expect(batches.map(\.count) == [50, 50, 20])
        #expect(oversized == 1)
        let body =
            try JSONSerialization.jsonObject(with: Data(TraceSegmentBatcher.body(batches[2]))) as? [String: [String]]
        #expect(body?["TraceSegmentDocuments"] == batches[2])
    }
}
