import FoundationEssentials
import Logging
import ObsCore
import ObsDelivery
import ObsJournal
import ObsNet
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// When the flush loop last ran, for `/healthz` and the systemd watchdog. On the monotonic clock
/// (``Monotonic``), so that a step of the wall clock (NTP, an operator) is not taken for a stuck
/// loop; a new heartbeat counts as a beat, so that the health endpoint does not report the loop
/// stuck in the moments before it first runs.
final class FlushHeartbeat: Sendable {
    /// Milliseconds on the monotonic clock at the last beat.
    private let last: Atomic<Int64>

    init(now: Double = Monotonic.seconds()) { last = Atomic(Self.milliseconds(now)) }

    func beat(now: Double = Monotonic.seconds()) { last.store(Self.milliseconds(now), ordering: .relaxed) }

    func secondsSinceLastBeat(now: Double = Monotonic.seconds()) -> Double {
        Double(Self.milliseconds(now) - last.load(ordering: .relaxed)) / 1000
    }

    private static func milliseconds(_ seconds: Double) -> Int64 { Int64((seconds * 1000).rounded()) }
}

/// The agent's own HTTP endpoints, on `agent.health_address`: `/healthz` (JSON: each source and
/// sink, ok or degraded with the reason; status 503 only when the flush loop is stuck, so an
/// orchestrator restarts the agent for that and not for a database that is down) and `/metrics`
/// (the agent's own counts in Prometheus text format). Also tells systemd READY=1 and, while the
/// flush loop beats, WATCHDOG=1.
struct HealthService: Service, CustomStringConvertible {
    let host: String
    let port: Int
    let recorder: Recorder
    let shippers: [SpoolShipper]
    let heartbeat: FlushHeartbeat
    /// Longer than this without a flush is stuck.
    let stuckAfter: Double
    let logger: Logger

    var description: String { "health(\(host):\(port))" }

    func run() async throws {
        let server: LoopbackHTTPServer
        do {
            server = try LoopbackHTTPServer(host: host, port: port) { request in
                switch request.target.split(separator: "?").first.map(String.init) ?? "" {
                case "/healthz": return health()
                case "/metrics":
                    return HTTPServerResponse(
                        status: 200, contentType: "text/plain; version=0.0.4; charset=utf-8", text: metrics())
                default: return HTTPServerResponse(status: 404, text: "not found: try /healthz or /metrics\n")
                }
            }
        } catch {
            logger.error("health endpoint not started", metadata: ["address": "\(host):\(port)", "error": "\(error)"])
            throw error
        }
        logger.info("health endpoint listening", metadata: ["address": "\(host):\(server.port)"])
        SystemdNotify.send("READY=1")
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await cancelWhenGracefulShutdown { await server.run() } }
            if let watchdog = SystemdNotify.watchdogInterval {
                group.addTask {
                    while !Task.isCancelled && !Task.isShuttingDownGracefully {
                        if heartbeat.secondsSinceLastBeat() < stuckAfter { SystemdNotify.send("WATCHDOG=1") }
                        try? await Task.sleep(for: .seconds(watchdog / 2))
                    }
                }
            }
        }
        SystemdNotify.send("STOPPING=1")
    }

    func health() -> HTTPServerResponse {
        var components = recorder.health.snapshot.map { ($0.name, $0.ok, $0.reason) }
        // Every shipper drains the one spool: its backlog is one component, not one per request kind.
        if let spool = shippers.first?.spool {
            let age = spool.oldestAge(now: Int64(Date().timeIntervalSince1970))
            components.append(
                (
                    "spool", age < 300,
                    age < 300 ? nil : "oldest spooled batch is \(age) s old: AWS is refusing or unreachable"
                ))
        }
        let sinceFlush = heartbeat.secondsSinceLastBeat()
        let stuck = sinceFlush > stuckAfter
        components.append(("flush", !stuck, stuck ? "no flush for \(Int(sinceFlush)) s" : nil))
        let status = stuck ? "failing" : components.allSatisfy(\.1) ? "ok" : "degraded"
        let items = components.map { name, ok, reason in
            "{\"name\":\(JSONText.quoted(name)),\"status\":\"\(ok ? "ok" : "degraded")\""
                + (reason.map { ",\"reason\":\(JSONText.quoted(SecretRedactor.shared.redact($0)))" } ?? "") + "}"
        }
        let body =
            "{\"status\":\"\(status)\",\"version\":\(JSONText.quoted(BuildInfo.version)),\"components\":[\(items.joined(separator: ","))]}\n"
        return HTTPServerResponse(status: stuck ? 503 : 200, body: Array(body.utf8))
    }

    func metrics() -> String {
        var out = "# HELP obs_agent_build_info The agent's release.\n# TYPE obs_agent_build_info gauge\n"
        out += "obs_agent_build_info{version=\"\(BuildInfo.version)\"} 1\n"
        out +=
            "# HELP obs_agent_dropped_total Items the agent accepted and did not deliver, by reason.\n# TYPE obs_agent_dropped_total counter\n"
        let counts = recorder.selfMetrics.snapshot(ringDrops: recorder.ringDrops)
        for (reason, count) in counts.sorted(by: { $0.key.rawValue < $1.key.rawValue }) where reason.isDrop {
            out += "obs_agent_dropped_total{reason=\"\(reason.rawValue)\"} \(count)\n"
        }
        out +=
            "# HELP obs_agent_incidents_total Events that lost nothing but need attention, by reason.\n# TYPE obs_agent_incidents_total counter\n"
        for (reason, count) in counts.sorted(by: { $0.key.rawValue < $1.key.rawValue }) where !reason.isDrop {
            out += "obs_agent_incidents_total{reason=\"\(reason.rawValue)\"} \(count)\n"
        }
        out +=
            "# HELP obs_agent_batches_sent_total Batches the service accepted, by request kind.\n# TYPE obs_agent_batches_sent_total counter\n"
        for shipper in shippers {
            out += "obs_agent_batches_sent_total{kind=\"\(shipper.sender.kind)\"} \(shipper.delivered)\n"
        }
        if let spool = shippers.first?.spool {
            out +=
                "# HELP obs_agent_spool_bytes Bytes waiting in the spool.\n# TYPE obs_agent_spool_bytes gauge\nobs_agent_spool_bytes \(spool.bytes)\n"
            out +=
                "# HELP obs_agent_spool_oldest_age_seconds Age of the oldest spooled batch.\n# TYPE obs_agent_spool_oldest_age_seconds gauge\n"
            out += "obs_agent_spool_oldest_age_seconds \(spool.oldestAge(now: Int64(Date().timeIntervalSince1970)))\n"
        }
        out +=
            "# HELP obs_agent_component_up 1 when a source or sink works, 0 when degraded.\n# TYPE obs_agent_component_up gauge\n"
        for component in recorder.health.snapshot {
            let name = component.name.replacing("\\", with: "\\\\").replacing("\"", with: "\\\"")
            out += "obs_agent_component_up{component=\"\(name)\"} \(component.ok ? 1 : 0)\n"
        }
        out +=
            "# HELP obs_agent_seconds_since_flush Time since the last flush.\n# TYPE obs_agent_seconds_since_flush gauge\n"
        out += "obs_agent_seconds_since_flush \(Int(heartbeat.secondsSinceLastBeat()))\n"
        return out
    }
}
