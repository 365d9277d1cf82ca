import ObsPostgres

/// Runs a ``PostgresSource`` until graceful shutdown, then takes one last sample so that the
/// counters' final deltas make it into the final flush.
struct PostgresService: Service, CustomStringConvertible {
    let source: PostgresSource

    var description: String { "postgres(\(source.settings.instance)/\(source.settings.connection.database))" }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await source.run()
        }
        _ = try? await source.sample()
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
