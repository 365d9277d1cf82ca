import ObsCore

/// The contract every source implements, and all the agent knows of one.
///
/// - ``run()`` collects until its task is cancelled (the agent cancels it at graceful shutdown). It
///   never throws and never ends on its own: a failure (a database down, a scrape refused, a journal
///   file gone) is retried with ``Backoff``, counted in the recorder's ``SelfMetrics`` under its
///   reason, and reported to the recorder's ``HealthRegistry`` with the reason, which `/healthz`
///   shows. Every observation goes through a ``Producer`` of the recorder.
/// - ``finish(within:)`` runs once, after `run` returned at shutdown and before the last flush: a
///   source of cumulative counters takes one last sample so the final deltas are flushed; a source
///   that batches hands on what it holds. It returns within `seconds`.
public protocol Source: Sendable {
    /// The source's name in logs and in the agent's service group: `postgres(db-1/microservices_ecom)`.
    var name: String { get }
    /// Collects until the task is cancelled.
    func run() async
    /// The last sample, or what is batched handed on, at shutdown.
    func finish(within seconds: Double) async
}

/// Where a source's trace segment documents go (X-Ray through the spool, or the dry run's printout),
/// chosen by the agent whatever the metric sink.
public protocol TraceSink: Sendable {
    /// A short name for logs (`xray`, `dry-run`).
    var name: String { get }
    /// Takes `documents`; returns at once. What a sink refuses it counts.
    func publish(_ documents: [String])
    /// Blocks until every document published so far is handed on (spooled or printed).
    func flush()
}

/// Where a source's log events go (PostgreSQL statement texts): CloudWatch Logs through the spool,
/// standard output beside EMF lines, or the dry run's printout.
public protocol LogSink: Sendable {
    /// A short name for logs (`cloudwatch-logs`, `stdout`, `dry-run`).
    var name: String { get }
    /// Takes `events` of `group`/`stream`; events the service would refuse are counted, not sent.
    func publish(group: String, stream: String, events: [CloudWatchLogEvent], now: Int64)
}

/// Sends the batches of a source that is its own spool (the journal, whose cursor is saved only
/// once a batch is accepted): each batch is tried until it is accepted or refused for good, with
/// the shippers' retry policy and outcome handling.
public protocol BatchOutlet: Sendable {
    /// A short name for logs (`cloudwatch-logs`, `dry-run`).
    var name: String { get }
    /// Sends `batch` until it is accepted, or refused for good (counted): then true. False when it
    /// stopped trying first (the task was cancelled, or `deadline` passed, which also cuts short a
    /// request in flight): the batch is not accepted and the source keeps it.
    func deliver(_ batch: SpooledBatch, deadline: ContinuousClock.Instant?) async -> Bool
}
