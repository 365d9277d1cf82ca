import Dispatch
import Foundation
import Logging
import ObsAWS
import ObsCore
import ObsDelivery
import ObsNet

/// `xray-ship`: PutTraceSegments delivery as the agent does it (a disk spool of 1,000-segment
/// batches, eight workers), to a local stand-in for X-Ray that answers each call after a fixed
/// latency, as an endpoint in the region would. Compares the workers on one libcurl connection (as
/// before `CurlTransportPool`) with the workers on a connection each.
func compareTraceShipping(latencyMilliseconds: Int = 40, segments: Int = 20_000) {
    var logger = Logger(label: "bench")
    logger.logLevel = .error
    let server = try! LoopbackHTTPServer(host: "127.0.0.1", port: 0) { _ in
        try? await Task.sleep(for: .milliseconds(latencyMilliseconds))
        return HTTPServerResponse(status: 200, text: #"{"UnprocessedTraceSegments":[]}"#)
    }
    let serving = Task.detached { await server.run() }
    let documents = (0..<segments).map {
        #"{"id":"\#(String(format: "%016x", $0))","trace_id":"1-5759e988-bd862e3fe1be46a994272793","name":"user-service","start_time":1,"end_time":2}"#
    }
    let workers = 8
    let transports: [(String, @Sendable () -> any HTTPTransport)] = [
        ("8 workers, one connection", { CurlTransport(connectTimeout: 5, totalTimeout: 30, label: "bench-xray") }),
        (
            "8 workers, 8 connections",
            {
                CurlTransportPool(count: workers) {
                    CurlTransport(connectTimeout: 5, totalTimeout: 30, label: "bench-xray")
                }
            }
        ),
    ]
    for (label, makeTransport) in transports {
        let metrics = SelfMetrics()
        let directory = FileManager.default.currentDirectoryPath + "/.build/bench-ship-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let spool = try! DiskSpool(directory: directory, maxBytes: 1 << 30, selfMetrics: metrics)
        let sink = XRayTraceSink(spool: spool, selfMetrics: metrics, logger: logger)
        for start in stride(from: 0, to: segments, by: 1000) {
            sink.publish(Array(documents[start..<min(start + 1000, segments)]))
        }
        sink.flush()
        let client = AWSClient(
            service: .xRay, endpoint: "http://127.0.0.1:\(server.port)", region: "us-east-1",
            credentials: AWSCredentials(accessKeyID: "bench", secretAccessKey: "bench-secret"),
            transport: makeTransport())
        let shipper = SpoolShipper(
            spool: spool, sender: PutTraceSegmentsSender(client: client, sink: sink), selfMetrics: metrics,
            logger: logger,
            concurrency: workers)
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var seconds = 0.0
        Task.detached {
            let started = now()
            let shipping = Task { await shipper.run() }
            while !spool.pending().isEmpty { try? await Task.sleep(for: .milliseconds(5)) }
            seconds = Double(now() - started) / 1e9
            shipping.cancel()
            await shipping.value
            done.signal()
        }
        done.wait()
        report(
            "xray-ship \(label)", Double(segments) / seconds, "segments/s",
            note: String(
                format: "%d segments in %d calls, %d ms each, in %.2f s; %d delivered batches", segments, segments / 50,
                latencyMilliseconds, seconds, shipper.delivered))
    }
    serving.cancel()
}
