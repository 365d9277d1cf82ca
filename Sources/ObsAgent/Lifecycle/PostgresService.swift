import ObsPostgres
import ServiceLifecycle

/// Runs a ``PostgresSource`` until graceful shutdown, then takes one last sample so that the
/// counters' final deltas make it into the final flush.
struct PostgresService: Service {
    let source: PostgresSource

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await source.run()
        }
        _ = try? await source.sample()
    }
}

/// Ends the run after one flush interval (`obs-agent --once`): returning shuts the group down
/// gracefully, which makes every source take its last sample and the flusher flush.
struct OnceTrigger: Service {
    let interval: Double

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            try await Task.sleep(for: .seconds(interval))
        }
    }
}
