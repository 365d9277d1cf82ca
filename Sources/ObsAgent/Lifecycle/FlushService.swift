import Logging
import ObsCore
import ObsDelivery

/// Flushes the aggregator to the sink at every interval boundary (and, for high-resolution
/// metrics, every second), and once more when the group shuts down gracefully, after the sources
/// took their last sample, so that SIGTERM loses nothing that was collected.
struct FlushService: Service, CustomStringConvertible {
    let aggregator: Aggregator
    let sink: any MetricSink
    /// Seconds between flushes of standard-resolution metrics.
    let interval: Double
    /// Whether to run the one-second loop for metrics of storage resolution 1.
    let highResolution: Bool
    let reporter: SelfMetricsReporter
    let logger: Logger
    var heartbeat = FlushHeartbeat()

    func run() async throws {
        heartbeat.beat()
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await loop(interval: interval, resolution: highResolution ? 60 : nil) }
            if highResolution {
                group.addTask { await loop(interval: 1, resolution: 1) }
            }
            group.addTask { await drainLoop() }
        }
        let series = await flush(timestamp: FlushClock.boundary(FlushClock.now(), interval: interval), resolution: nil)
        logger.info("final flush done", metadata: ["series": "\(series)", "sink": "\(sink.name)"])
    }

    /// Flushes at each boundary of `interval` until graceful shutdown or cancellation.
    private func loop(interval: Double, resolution: Int?) async {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let wait = FlushClock.untilNextBoundary(FlushClock.now(), interval: interval)
            do {
                try await cancelWhenGracefulShutdown {
                    try await Task.sleep(for: .seconds(wait))
                }
            } catch {
                return
            }
            // Stamp the data with the interval that just ended.
            await flush(
                timestamp: FlushClock.boundary(FlushClock.now() - interval / 2, interval: interval),
                resolution: resolution)
        }
    }

    /// Empties the producers' rings into the aggregator between flushes each time one has filled
    /// a quarter, so that a busy source (20,000 segments a second record 100,000 observations)
    /// never fills its ring (a ring holds 65,536), and a quiet one costs no wake-up.
    private func drainLoop() async {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await cancelWhenGracefulShutdown {
                    await aggregator.recorder.ringsFilling.wait()
                    try Task.checkCancellation()
                }
            } catch {
                return
            }
            aggregator.drain()
        }
    }

    /// - Returns: the series flushed.
    @discardableResult
    func flush(timestamp: Int64, resolution: Int?) async -> Int {
        heartbeat.beat()
        if resolution != 1 { reporter.record() }
        let data = aggregator.flush(timestamp: timestamp, resolution: resolution)
        logger.debug(
            "flush", metadata: ["series": "\(data.count)", "sink": "\(sink.name)", "resolution": "\(resolution ?? 0)"])
        guard !data.isEmpty else { return 0 }
        await sink.publish(data)
        return data.count
    }

    var description: String { "flush" }
}
