import Logging
import ObsCatalog
import ObsCore
import ObsNet
import ObsSource
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The StatsD listener, as the CloudWatch agent's: lines on UDP (default 127.0.0.1:8125, several a
/// datagram, one per line) become CloudWatch metrics in `namespace`, each line's tags its
/// dimensions. Counters sum per interval (scaled up by their sample rate), gauges keep their last
/// value, timers keep every value for percentiles (weighted by their sample rate), sets count their
/// distinct members per interval.
///
/// A line that does not parse is dropped and counted (`statsd_line_invalid`); a metric past
/// `maxMetrics` distinct names is dropped and counted (`statsd_metric_limit`); series past a
/// metric's cardinality limit fold as every metric's do.
public final class StatsDSource: @unchecked Sendable {
    public struct Settings: Sendable, Equatable {
        public var host = "127.0.0.1"
        public var port = 8125
        /// The CloudWatch namespace of the metrics.
        public var namespace = "StatsD"
        /// Distinct metrics (name and type) at most; lines of more are dropped and counted.
        package var maxMetrics = 1_000
        package var receiveBufferBytes = 4 << 20
        /// The flush interval, whose boundaries reset the sets' members.
        package var flushInterval: Double = 60

        package init() {}
    }

    package let settings: Settings
    private let socket: UDPSocket
    private let recorder: Recorder
    private let producer: Producer
    private let logger: Logger
    private let lines = Atomic<Int>(0)
    // The reading thread only.
    private var series: [String: Entry] = [:]
    private var metrics: Set<String> = []
    private var linesSeries: SeriesID?
    private var lastWarning = -Double.infinity

    /// What the reading thread keeps of one series.
    struct Entry {
        var id: SeriesID
        /// A gauge's last value.
        var gauge = 0.0
        /// A set's members in the current interval, and that interval.
        var members: Set<String> = []
        var interval: Int64 = 0
    }

    /// Binds the socket (so a busy port is reported at start).
    package init(settings: Settings, recorder: Recorder, logger: Logger) throws(SocketError) {
        self.settings = settings
        self.socket = try UDPSocket(
            host: settings.host, port: settings.port, receiveBufferBytes: settings.receiveBufferBytes)
        self.recorder = recorder
        self.producer = recorder.makeProducer(name: "statsd", capacity: 1 << 16)
        var logger = logger
        logger[metadataKey: "source"] = "statsd"
        self.logger = logger
    }

    /// The port bound (the configured one, or the kernel's choice for port 0).
    public var port: Int { socket.port }
    /// Lines recorded so far.
    package var linesRecorded: Int { lines.load(ordering: .relaxed) }

    /// Reads until the task is cancelled.
    public func run() async {
        logger.info(
            "statsd listening", metadata: ["address": "\(settings.host):\(port)", "namespace": "\(settings.namespace)"])
        recorder.health.report(name, ok: true)
        await socket.serve(threadName: "obs.statsd") { [self] datagram in
            var start = 0
            for i in 0...datagram.count where i == datagram.count || datagram[i] == UInt8(ascii: "\n") {
                var end = i
                if end > start, datagram[end - 1] == UInt8(ascii: "\r") { end -= 1 }
                if end > start { handle(UnsafeRawBufferPointer(rebasing: datagram[start..<end])) }
                start = i + 1
            }
        }
    }

    /// Records one line, or counts why it cannot be.
    func handle(_ bytes: UnsafeRawBufferPointer) {
        switch StatsDLine.parse(bytes) {
        case .failure(let problem):
            drop(.statsdLineInvalid, "statsd line dropped: \(problem.rawValue)")
        case .success(let line):
            record(line, now: FlushClock.now())
        }
    }

    func record(_ line: StatsDLine, now: Double) {
        let metric = "\(line.kind.rawValue)|\(line.name)"
        let key = metric + line.tags.map { "|\($0.name)=\($0.value)" }.joined()
        var entry: Entry
        if let known = series[key] {
            entry = known
        } else {
            if !metrics.contains(metric) {
                guard metrics.count < settings.maxMetrics else {
                    drop(.statsdMetricLimit, "statsd metric dropped: past max_metrics (\(settings.maxMetrics))")
                    return
                }
                metrics.insert(metric)
            }
            let unit: MetricUnit = line.kind == .timer ? .milliseconds : line.kind == .gauge ? .none : .count
            let kind: MetricKind = line.kind == .gauge ? .gauge : line.kind == .timer ? .distribution : .counter
            let descriptor = MetricDescriptor(namespace: settings.namespace, name: line.name, unit: unit, kind: kind)
            entry = Entry(id: recorder.series(descriptor, Dimensions(line.tags.map { ($0.name, $0.value) })))
            if series.count >= 100_000 { series.removeAll() }  // a bound on what the thread keeps; entries come back
        }
        switch line.kind {
        case .counter:
            producer.record(entry.id, line.value / line.sampleRate)
        case .gauge:
            entry.gauge = line.isDelta ? entry.gauge + line.value : line.value
            producer.record(entry.id, entry.gauge)
        case .timer:
            producer.record(entry.id, line.value, weight: 1 / line.sampleRate)
        case .set:
            let interval = FlushClock.boundary(now, interval: settings.flushInterval)
            if interval != entry.interval {
                entry.interval = interval
                entry.members.removeAll(keepingCapacity: true)
            }
            if entry.members.count < 100_000, entry.members.insert(line.member).inserted {
                producer.record(entry.id, 1)
            }
        }
        series[key] = entry
        if linesSeries == nil { linesSeries = recorder.series(StatsDMetrics.lines.descriptor, Dimensions()) }
        producer.record(linesSeries!, 1)
        lines.add(1, ordering: .relaxed)
    }

    private func drop(_ reason: SelfMetrics.Reason, _ message: String) {
        recorder.selfMetrics.count(reason)
        let now = Monotonic.seconds()
        if now - lastWarning >= 1 {
            logger.warning("\(message)")
            lastWarning = now
        }
    }
}

extension SelfMetrics.Reason {
    /// A StatsD line that does not parse, or breaks a CloudWatch limit.
    package static let statsdLineInvalid = SelfMetrics.Reason("statsd_line_invalid", isDrop: true)
    /// A StatsD line of a metric past `sources.statsd.max_metrics`.
    package static let statsdMetricLimit = SelfMetrics.Reason("statsd_metric_limit", isDrop: true)
}
