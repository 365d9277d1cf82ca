import Logging
import ObsCore
import ObsDelivery
import ServiceLifecycle

/// Flushes the aggregator to the sink at every interval boundary, and once more when the group
/// shuts down gracefully (after the sources took their last sample), so that SIGTERM loses nothing
/// that was collected.
struct FlushService: Service {
    let aggregator: Aggregator
    let sink: any MetricSink
    let interval: Double
    let logger: Logger

    func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let wait = FlushClock.untilNextBoundary(FlushClock.now(), interval: interval)
            do {
                try await cancelWhenGracefulShutdown {
                    try await Task.sleep(for: .seconds(wait))
                }
            } catch {
                break
            }
            // Stamp the data with the interval that just ended.
            await flush(timestamp: FlushClock.boundary(FlushClock.now() - interval / 2, interval: interval))
        }
        await flush(timestamp: FlushClock.boundary(FlushClock.now(), interval: interval))
        logger.info("final flush done")
    }

    func flush(timestamp: Int64) async {
        let data = aggregator.flush(timestamp: timestamp)
        logger.debug("flush", metadata: ["series": "\(data.count)", "sink": "\(sink.name)"])
        guard !data.isEmpty else { return }
        await sink.publish(data)
    }
}
