import ObsPrometheus

/// Runs a ``PrometheusSource`` until graceful shutdown, then scrapes once more so that the
/// counters' final deltas make it into the final flush.
struct PrometheusService: Service, CustomStringConvertible {
    let source: PrometheusSource

    var description: String { "prometheus(\(source.job.service))" }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await source.run()
        }
        await source.scrapeAll()
    }
}
