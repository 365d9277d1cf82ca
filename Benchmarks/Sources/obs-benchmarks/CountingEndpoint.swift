import Foundation
import ObsNet
import Synchronization

/// `obs-benchmarks counting-endpoint COUNTS_FILE`: a local AWS endpoint fast enough to be no part of
/// what a whole-process benchmark measures (scripts/lib/counting_aws.py checks signatures and
/// limits, and at tens of thousands of segments a second it is what limits the run). It answers
/// PutTraceSegments, PutLogEvents and PutMetricData at once, telling them apart by their bodies,
/// and counts segments (their `trace_id` fields), log events and metric calls, written as JSON to
/// COUNTS_FILE every 100 ms. Prints its port on the first line.
func runCountingEndpoint(countsFile: String) async {
    let counts = Mutex<[String: Int]>([
        "segments": 0, "trace_calls": 0, "log_events": 0, "log_calls": 0, "metric_calls": 0,
    ])
    @Sendable func occurrences(of needle: [UInt8], in body: [UInt8]) -> Int {
        guard body.count >= needle.count, let first = needle.first else { return 0 }
        var found = 0
        var i = 0
        let last = body.count - needle.count
        while i <= last {
            if body[i] == first && Array(body[i..<(i + needle.count)]) == needle {
                found += 1
                i += needle.count
            } else {
                i += 1
            }
        }
        return found
    }
    let traceID = Array(#"\"trace_id\""#.utf8)
    let timestamp = Array(#""timestamp""#.utf8)
    let server: LoopbackHTTPServer
    do {
        server = try LoopbackHTTPServer(host: "127.0.0.1", port: 0) { request in
            let body = request.body
            if body.starts(with: Array(#"{"TraceSegmentDocuments""#.utf8)) {
                let n = occurrences(of: traceID, in: body)
                counts.withLock {
                    $0["segments", default: 0] += n
                    $0["trace_calls", default: 0] += 1
                }
                return HTTPServerResponse(
                    status: 200, contentType: "application/json", text: #"{"UnprocessedTraceSegments":[]}"#)
            }
            if occurrences(of: Array(#""logEvents""#.utf8), in: Array(body.prefix(4096))) > 0 {
                let n = occurrences(of: timestamp, in: body)
                counts.withLock {
                    $0["log_events", default: 0] += n
                    $0["log_calls", default: 0] += 1
                }
                return HTTPServerResponse(
                    status: 200, contentType: "application/x-amz-json-1.1", text: #"{"nextSequenceToken":"0"}"#)
            }
            if body.first == UInt8(ascii: "{") {
                return HTTPServerResponse(status: 200, contentType: "application/x-amz-json-1.1", text: "{}")
            }
            counts.withLock { $0["metric_calls", default: 0] += 1 }
            return HTTPServerResponse(
                status: 200, contentType: "text/xml",
                text:
                    #"<PutMetricDataResponse xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/"><ResponseMetadata><RequestId>0</RequestId></ResponseMetadata></PutMetricDataResponse>"#
            )
        }
    } catch {
        FileHandle.standardError.write(Data("counting-endpoint: \(error)\n".utf8))
        exit(1)
    }
    FileHandle.standardOutput.write(Data("\(server.port)\n".utf8))
    let writer = Task {
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(100))
            let snapshot = counts.withLock { $0 }
            if let data = try? JSONSerialization.data(withJSONObject: snapshot) {
                try? data.write(to: URL(fileURLWithPath: countsFile + ".tmp"))
                _ = rename(countsFile + ".tmp", countsFile)
            }
        }
    }
    await server.run()
    writer.cancel()
}
