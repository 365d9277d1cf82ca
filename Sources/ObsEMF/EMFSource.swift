import Logging
import ObsCatalog
import ObsCore
import ObsNet
import Synchronization

/// The EMF listener, as the CloudWatch agent's: applications write Embedded Metric Format events,
/// one a line, to TCP and UDP (default 127.0.0.1:25888), and each metric of each dimension set
/// becomes a CloudWatch metric in the event's namespace, every value kept for percentiles.
///
/// An event that breaks a rule of the format is dropped whole and counted (`emf_event_invalid`);
/// a metric past `maxMetrics` distinct ones is dropped and counted (`emf_metric_limit`); a line
/// longer than `maxEventBytes` is dropped and counted (`emf_event_invalid`).
public final class EMFSource: @unchecked Sendable {
    public struct Settings: Sendable, Equatable {
        public var host = "127.0.0.1"
        public var port = 25888
        package var tcp = true
        package var udp = true
        /// Distinct metrics (namespace, name, unit) at most; events' metrics past it are dropped.
        package var maxMetrics = 1_000
        /// The longest event, in bytes (CloudWatch Logs takes events of 256 KiB).
        package var maxEventBytes = 262_144
        /// The namespaces events may put metrics into; empty: any (but `AWS/`). The IAM policy
        /// obsctl writes allows these (or any namespace when empty).
        package var namespaces: [String] = []

        package init() {}
    }

    package let settings: Settings
    private let udpSocket: UDPSocket?
    private let tcpListener: TCPLineListener?
    private let recorder: Recorder
    private let logger: Logger
    private let state: Mutex<State>
    private let events = Atomic<Int>(0)

    /// Shared by the UDP and TCP threads.
    struct State: ~Copyable {
        var producer: Producer
        var series: [String: SeriesID] = [:]
        var metrics: Set<String> = []
        var lastWarning = -Double.infinity
        var linesID: SeriesID?
    }

    /// Binds the sockets (so a busy port is reported at start).
    package init(settings: Settings, recorder: Recorder, logger: Logger) throws(SocketError) {
        self.settings = settings
        var port = settings.port
        if settings.tcp {
            let listener = try TCPLineListener(host: settings.host, port: port, maxLineBytes: settings.maxEventBytes)
            port = listener.port  // with port 0, UDP takes the port TCP was given
            tcpListener = listener
        } else {
            tcpListener = nil
        }
        udpSocket = settings.udp ? try UDPSocket(host: settings.host, port: port, receiveBufferBytes: 4 << 20) : nil
        self.recorder = recorder
        state = Mutex(State(producer: recorder.makeProducer(name: "emf", capacity: 1 << 16)))
        var logger = logger
        logger[metadataKey: "source"] = "emf"
        self.logger = logger
    }

    /// The port bound (the configured one, or the kernel's choice for port 0).
    public var port: Int { tcpListener?.port ?? udpSocket?.port ?? settings.port }
    /// Events recorded so far.
    package var eventsRecorded: Int { events.load(ordering: .relaxed) }

    /// Reads until the task is cancelled.
    public func run() async {
        logger.info(
            "emf listening",
            metadata: [
                "address": "\(settings.host):\(port)", "tcp": "\(tcpListener != nil)", "udp": "\(udpSocket != nil)",
            ])
        recorder.health.report("emf(\(settings.host):\(port))", ok: true)
        await withTaskGroup(of: Void.self) { group in
            if let udpSocket {
                group.addTask {
                    await udpSocket.serve(threadName: "obs.emf-udp") { [self] datagram in
                        var start = 0
                        for i in 0...datagram.count where i == datagram.count || datagram[i] == UInt8(ascii: "\n") {
                            if i > start { handle(UnsafeRawBufferPointer(rebasing: datagram[start..<i])) }
                            start = i + 1
                        }
                    }
                }
            }
            if let tcpListener {
                group.addTask {
                    await tcpListener.serve(
                        threadName: "obs.emf-tcp", line: { [self] in handle($0) },
                        tooLong: { [self] in
                            drop(.emfEventInvalid, "emf event dropped: longer than \(settings.maxEventBytes) bytes")
                        })
                }
            }
        }
    }

    /// Records one event, or counts why it cannot be.
    func handle(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count <= settings.maxEventBytes else {
            drop(.emfEventInvalid, "emf event dropped: longer than \(settings.maxEventBytes) bytes")
            return
        }
        switch EMFEvent.parse(bytes) {
        case .failure(let problem):
            drop(.emfEventInvalid, "emf event dropped: \(problem.rawValue)")
        case .success(let event):
            if !settings.namespaces.isEmpty,
                let refused = event.observations.first(where: { !settings.namespaces.contains($0.namespace) })
            {
                drop(
                    .emfNamespaceRefused,
                    "emf event dropped: namespace \(refused.namespace) is not in sources.emf.namespaces")
                return
            }
            record(event)
        }
    }

    func record(_ event: EMFEvent) {
        var limited = 0
        state.withLock { state in
            for observation in event.observations {
                let metric =
                    "\(observation.namespace)|\(observation.name)|\(observation.unit.rawValue)|\(observation.storageResolution)"
                let key = metric + observation.dimensions.map { "|\($0.name)=\($0.value)" }.joined()
                let id: SeriesID
                if let known = state.series[key] {
                    id = known
                } else {
                    if !state.metrics.contains(metric) {
                        guard state.metrics.count < settings.maxMetrics else {
                            limited += 1
                            continue
                        }
                        state.metrics.insert(metric)
                    }
                    let descriptor = MetricDescriptor(
                        namespace: observation.namespace, name: observation.name, unit: observation.unit,
                        kind: .distribution,
                        storageResolution: observation.storageResolution)
                    id = recorder.series(descriptor, Dimensions(observation.dimensions.map { ($0.name, $0.value) }))
                    if state.series.count >= 100_000 { state.series.removeAll() }
                    state.series[key] = id
                }
                for value in observation.values { state.producer.record(id, value) }
            }
            if state.linesID == nil { state.linesID = recorder.series(EMFMetrics.events.descriptor, Dimensions()) }
            state.producer.record(state.linesID!, 1)
        }
        events.add(1, ordering: .relaxed)
        if limited > 0 {
            recorder.selfMetrics.count(.emfMetricLimit, limited)
            drop(nil, "emf metrics dropped: past max_metrics (\(settings.maxMetrics))")
        }
    }

    private func drop(_ reason: SelfMetrics.Reason?, _ message: String) {
        if let reason { recorder.selfMetrics.count(reason) }
        let now = Monotonic.seconds()
        let due = state.withLock { state in
            guard now - state.lastWarning >= 1 else { return false }
            state.lastWarning = now
            return true
        }
        if due { logger.warning("\(message)") }
    }
}

extension SelfMetrics.Reason {
    /// An EMF event that is not valid JSON, breaks a rule of the format, or is too long.
    package static let emfEventInvalid = SelfMetrics.Reason("emf_event_invalid", isDrop: true)
    /// An EMF event with a namespace `sources.emf.namespaces` does not list.
    package static let emfNamespaceRefused = SelfMetrics.Reason("emf_namespace_refused", isDrop: true)
    /// An EMF metric past `sources.emf.max_metrics`.
    package static let emfMetricLimit = SelfMetrics.Reason("emf_metric_limit", isDrop: true)
}
