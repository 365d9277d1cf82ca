import ObsJournal

/// Runs the journal source until graceful shutdown, then gives it `shutdownTimeout` seconds to
/// send its open batches; what is not sent is read again from the journal at the next start.
struct JournalService: Service, CustomStringConvertible {
    let source: JournalSource
    let shutdownTimeout: Double

    var description: String { "journald(\(source.settings.directory ?? "local"))" }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await source.run()
        }
        await source.finish(within: shutdownTimeout)
    }
}
