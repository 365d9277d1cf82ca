import ObsSource

/// Runs any ``Source`` in the service group: until graceful shutdown, then its ``Source/finish(within:)``
/// (a last sample, or what it batched handed on) within `shutdownTimeout`, before the flusher's last
/// flush.
struct SourceService: Service, CustomStringConvertible {
    let source: any Source
    let shutdownTimeout: Double

    var description: String { source.name }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await source.run()
        }
        await source.finish(within: shutdownTimeout)
    }
}

/// Ends the run after one flush interval (`obs-agent --once`): returning shuts the group down
/// gracefully, which makes every source take its last sample and the flusher flush.
struct OnceTrigger: Service, CustomStringConvertible {
    let interval: Double

    var description: String { "once(\(interval) s)" }

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            try await Task.sleep(for: .seconds(interval))
        }
    }
}
