import Logging
import ObsCatalog
import ObsCore

/// A signal a source makes besides metrics, and the config key that asks for it: the agent gives
/// it a route, or refuses to start naming `key` and what is missing.
public struct SignalNeed: Sendable, Equatable {
    public enum Signal: String, Sendable {
        /// Metrics, which every source makes through the recorder: only the metric sink's own
        /// errors name it.
        case metrics
        /// Trace segment documents (a ``TraceSink``).
        case traces
        /// Log events the source hands over (a ``LogSink``).
        case logEvents
        /// PutLogEvents batches of a source that is its own spool (a ``BatchOutlet``).
        case logBatches
    }

    package var signal: Signal
    /// The key that asks for it (`sources.xray`, `sources.postgres[0].top_statements`).
    package var key: String
    /// What is done with it, for the error: `sending trace segments to X-Ray`.
    package var what: String

    package init(_ signal: Signal, key: String, what: String) {
        self.signal = signal
        self.key = key
        self.what = what
    }
}

/// What the agent gives a source to run with: the recorder and logger, the routes of the signals
/// the source said it needs (``SignalNeed``), and where it may keep state.
public struct SourceContext: Sendable {
    package var recorder: Recorder
    package var logger: Logger
    package var traces: (any TraceSink)?
    package var logs: (any LogSink)?
    package var logBatches: (any BatchOutlet)?
    /// Where a source keeps state across restarts (the journal's cursor): the spool directory.
    package var stateDirectory: String
    /// Whether this run sends nothing (`--dry-run`): a source saves no state then.
    package var dryRun: Bool
    /// Registers a secret a source comes upon (a token read from a file) with the log redactor.
    package var onSecret: @Sendable (String) -> Void

    package init(
        recorder: Recorder, logger: Logger, traces: (any TraceSink)? = nil, logs: (any LogSink)? = nil,
        logBatches: (any BatchOutlet)? = nil, stateDirectory: String, dryRun: Bool = false,
        onSecret: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.recorder = recorder
        self.logger = logger
        self.traces = traces
        self.logs = logs
        self.logBatches = logBatches
        self.stateDirectory = stateDirectory
        self.dryRun = dryRun
        self.onSecret = onSecret
    }
}

/// One line of `obs-agent check` for a source: a target it reaches, and whether it could.
public struct SourceCheck: Sendable, Equatable {
    package var target: String
    package var ok: Bool
    package var detail: String

    package init(target: String, ok: Bool, detail: String) {
        self.target = target
        self.ok = ok
        self.detail = detail
    }
}

/// What a source's section parser is told, and what it tells back.
public final class SourceParseContext {
    /// `agent.flush_interval`, read before the sources.
    package let flushInterval: Double
    /// `agent.shard`: this replica's share of the targets, when several split them.
    package let shard: Shard?
    /// Values never to print (passwords) found while reading.
    public private(set) var secrets: [String] = []

    package init(flushInterval: Double, shard: Shard? = nil) {
        self.flushInterval = flushInterval
        self.shard = shard
    }

    /// Keeps `value` out of every log line.
    package func secret(_ value: String) {
        if !value.isEmpty { secrets.append(value) }
    }
}

/// A source as the agent and obsctl know it: its config section (`sources.<key>`), every catalog
/// metric it may emit, how it reads its section, what it needs besides metrics, and how it is
/// built. One line in the agent's registry adds a source to the agent, to `obs-agent check`'s
/// start line and to obsctl's `validate`, `iam-policy`, `cost`, `alarms` and `dashboards`.
public struct SourceRegistration<Settings: Sendable>: Sendable {
    /// The section under `sources`.
    package let key: String
    /// Every catalog metric the source may emit: its catalog definitions.
    package let metrics: [MetricDefinition]
    let parse: @Sendable (ConfigNode, SourceParseContext) throws(ConfigError) -> Settings
    let isEnabled: @Sendable (Settings) -> Bool
    let emitted: @Sendable (Settings) -> [MetricDefinition]
    let needs: @Sendable (Settings) -> [SignalNeed]
    let logGroups: @Sendable (Settings) -> [String]
    let namespaces: @Sendable (Settings) -> [String]
    let targets: @Sendable (Settings) -> AlarmTargets
    let describe: @Sendable (Settings) -> String
    let make: @Sendable (Settings, SourceContext) throws(ConfigError) -> [any Source]
    let check: @Sendable (Settings, SourceContext) async -> [SourceCheck]

    /// - Parameters:
    ///   - parse: reads the section (every key checked, errors naming the key).
    ///   - isEnabled: whether the settings turn the source on (default: always).
    ///   - emitted: the catalog metrics these settings emit (default: all of `metrics`).
    ///   - needs: the signals these settings make besides metrics (default: none).
    ///   - logGroups: the CloudWatch Logs groups it writes to, `*` for parts only known at run time.
    ///   - namespaces: the CloudWatch namespaces it puts metrics into beyond its catalog metrics'
    ///     (those its input names: StatsD's, EMF's), `*` for any.
    ///   - targets: the services and databases it names, for alarms and dashboards.
    ///   - describe: a short text for the agent's start line.
    ///   - make: the running sources.
    ///   - check: reaches each target once, for `obs-agent check` (default: nothing to check).
    package init(
        key: String, metrics: [MetricDefinition],
        parse: @escaping @Sendable (ConfigNode, SourceParseContext) throws(ConfigError) -> Settings,
        isEnabled: @escaping @Sendable (Settings) -> Bool = { _ in true },
        emitted: (@Sendable (Settings) -> [MetricDefinition])? = nil,
        needs: @escaping @Sendable (Settings) -> [SignalNeed] = { _ in [] },
        logGroups: @escaping @Sendable (Settings) -> [String] = { _ in [] },
        namespaces: @escaping @Sendable (Settings) -> [String] = { _ in [] },
        targets: @escaping @Sendable (Settings) -> AlarmTargets = { _ in AlarmTargets(services: [], databases: []) },
        describe: @escaping @Sendable (Settings) -> String,
        make: @escaping @Sendable (Settings, SourceContext) throws(ConfigError) -> [any Source],
        check: @escaping @Sendable (Settings, SourceContext) async -> [SourceCheck] = { _, _ in [] }
    ) {
        self.key = key
        self.metrics = metrics
        self.parse = parse
        self.isEnabled = isEnabled
        self.emitted = emitted ?? { _ in metrics }
        self.needs = needs
        self.logGroups = logGroups
        self.namespaces = namespaces
        self.targets = targets
        self.describe = describe
        self.make = make
        self.check = check
    }

    /// The registration with its settings type erased, as the registry holds it.
    package var erased: AnySourceRegistration { AnySourceRegistration(self) }
}

/// A ``SourceRegistration`` whose settings are held as `any Sendable`.
public struct AnySourceRegistration: Sendable {
    package let key: String
    package let metrics: [MetricDefinition]
    private let parseSection: @Sendable (ConfigNode, SourceParseContext) throws(ConfigError) -> any Sendable
    private let isEnabledFor: @Sendable (any Sendable) -> Bool
    private let emittedFor: @Sendable (any Sendable) -> [MetricDefinition]
    private let needsFor: @Sendable (any Sendable) -> [SignalNeed]
    private let logGroupsFor: @Sendable (any Sendable) -> [String]
    private let namespacesFor: @Sendable (any Sendable) -> [String]
    private let targetsFor: @Sendable (any Sendable) -> AlarmTargets
    private let describeFor: @Sendable (any Sendable) -> String
    private let makeFor: @Sendable (any Sendable, SourceContext) throws(ConfigError) -> [any Source]
    private let checkFor: @Sendable (any Sendable, SourceContext) async -> [SourceCheck]

    init<Settings>(_ registration: SourceRegistration<Settings>) {
        key = registration.key
        metrics = registration.metrics
        parseSection = { (node, context) throws(ConfigError) -> any Sendable in try registration.parse(node, context) }
        @Sendable func typed(_ settings: any Sendable) -> Settings {
            guard let settings = settings as? Settings else {
                preconditionFailure("sources.\(registration.key) holds \(type(of: settings)), not \(Settings.self)")
            }
            return settings
        }
        isEnabledFor = { registration.isEnabled(typed($0)) }
        emittedFor = { registration.emitted(typed($0)) }
        needsFor = { registration.needs(typed($0)) }
        logGroupsFor = { registration.logGroups(typed($0)) }
        namespacesFor = { registration.namespaces(typed($0)) }
        targetsFor = { registration.targets(typed($0)) }
        describeFor = { registration.describe(typed($0)) }
        makeFor = { (settings, context) throws(ConfigError) -> [any Source] in
            try registration.make(typed(settings), context)
        }
        checkFor = { settings, context in await registration.check(typed(settings), context) }
    }

    /// Reads `sources.<key>`.
    public func parse(_ node: ConfigNode, _ context: SourceParseContext) throws(ConfigError) -> any Sendable {
        try parseSection(node, context)
    }

    /// Whether `settings` (of this registration) turn the source on.
    package func isEnabled(_ settings: any Sendable) -> Bool { isEnabledFor(settings) }
    /// The catalog metrics `settings` emit.
    package func emitted(_ settings: any Sendable) -> [MetricDefinition] { emittedFor(settings) }
    /// The signals besides metrics that `settings` make.
    package func needs(_ settings: any Sendable) -> [SignalNeed] { needsFor(settings) }
    /// The CloudWatch Logs groups `settings` write to.
    package func logGroups(_ settings: any Sendable) -> [String] { logGroupsFor(settings) }
    /// The namespaces `settings` put metrics into beyond the catalog's (`*` for any).
    package func namespaces(_ settings: any Sendable) -> [String] { namespacesFor(settings) }
    /// The services and databases `settings` name.
    package func targets(_ settings: any Sendable) -> AlarmTargets { targetsFor(settings) }
    /// A short text for the start line.
    package func describe(_ settings: any Sendable) -> String { describeFor(settings) }
    /// The running sources of `settings`.
    package func make(_ settings: any Sendable, _ context: SourceContext) throws(ConfigError) -> [any Source] {
        try makeFor(settings, context)
    }

    /// Reaches each target of `settings` once (`obs-agent check`).
    package func check(_ settings: any Sendable, _ context: SourceContext) async -> [SourceCheck] {
        await checkFor(settings, context)
    }

}
