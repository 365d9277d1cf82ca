import Foundation
import ObsAWS
import ObsCore
import ObsNet
import ObsPrometheus
import Testing

/// `/healthz`, `/metrics`, systemd's READY=1, and the packaged unit.
@Suite(.enabled(if: TestServices.hasBinary, "needs the built obs-agent"), .serialized)
struct HealthEndpointTests {
    @Test func healthzNamesEachComponentAndMetricsIsPrometheusText() async throws {
        let config = try TestServices.writeTemporary(
            """
            agent:
              flush_interval: 2s
              health_address: 127.0.0.1:0
            metrics:
              sink: emf
            sources:
              prometheus:
                - service: unreachable
                  urls: [http://127.0.0.1:1/metrics]
            """)
        // READY=1 arrives on a notification socket as systemd's would.
        let socketPath = NSTemporaryDirectory() + "obs-notify-\(UUID().uuidString.prefix(8))"
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        defer {
            close(fd)
            unlink(socketPath)
        }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (i, byte) in socketPath.utf8.enumerated() where i < buffer.count - 1 { buffer[i] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        #expect(bound == 0)
        var timeout = timeval(tv_sec: 20, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))

        let agent = try ChildProcess(
            TestServices.agentPath, ["--config", config],
            environment: TestServices.cleanEnvironment(["NOTIFY_SOCKET": socketPath]))
        defer { agent.stop() }
        var buffer = [UInt8](repeating: 0, count: 256)
        let received = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        #expect(received > 0 && String(decoding: buffer.prefix(max(0, received)), as: UTF8.self).contains("READY=1"))

        #expect(await agent.waitForOutput(containing: "health endpoint listening", timeout: 20))
        let line = agent.stdout.split(separator: "\n").first { $0.contains("health endpoint listening") } ?? ""
        let address2 = (try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String])?["address"] ?? ""
        let transport = CurlTransport(label: "health-test")
        // Asked again until the first scrape of the unreachable target has failed, however late a
        // loaded machine gets to it.
        var health = try await transport.send(HTTPRequest(method: "GET", url: "http://\(address2)/healthz"))
        let deadline = Date().addingTimeInterval(20)
        while !health.text.contains("\"degraded\""), Date() < deadline {
            try await Task.sleep(for: .milliseconds(100))
            health = try await transport.send(HTTPRequest(method: "GET", url: "http://\(address2)/healthz"))
        }
        #expect(
            health.status == 200, "degraded is not down: the orchestrator must not restart for a target that is down")
        let body = try JSONSerialization.jsonObject(with: Data(health.body)) as? [String: Any]
        #expect(body?["status"] as? String == "degraded")
        #expect(body?["version"] as? String == BuildInfo.version)
        let components = body?["components"] as? [[String: String]] ?? []
        #expect(
            components.contains {
                $0["name"] == "prometheus unreachable 127.0.0.1:1/metrics" && $0["status"] == "degraded"
                    && ($0["reason"] ?? "").contains("connect")
            })
        #expect(components.contains { $0["name"] == "flush" && $0["status"] == "ok" })

        let metrics = try await transport.send(HTTPRequest(method: "GET", url: "http://\(address2)/metrics"))
        #expect(metrics.status == 200)
        var seen: [String: Double] = [:]
        try ExpositionParser(format: ExpositionFormat(contentType: metrics.contentType)).parse(metrics.body) { sample in
            seen[sample.name.string + ((sample.labels["reason"] ?? sample.labels["version"]).map { "{\($0)}" } ?? "")] =
                sample.value
        }
        #expect(seen["obs_agent_build_info{\(BuildInfo.version)}"] == 1, "\(seen)")
        #expect((seen["obs_agent_incidents_total{scrape_failed}"] ?? 0) >= 1, "\(seen)")
        #expect(seen["obs_agent_seconds_since_flush"] != nil)
        let missing = try await transport.send(HTTPRequest(method: "GET", url: "http://\(address2)/other"))
        #expect(missing.status == 404)
    }

    @Test(
        .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze"), "needs systemd-analyze"))
    func theSystemdUnitVerifies() async throws {
        let unit = try String(
            contentsOf: TestServices.repositoryRoot.appendingPathComponent("packaging/systemd/obs-agent.service"),
            encoding: .utf8)
        #expect(unit.contains("Type=notify") && unit.contains("WatchdogSec=") && unit.contains("DynamicUser=yes"))
        #expect(unit.contains("ProtectSystem=strict") && unit.contains("StateDirectory=obs-agent"))
        // Verify it with the built binary in ExecStart (systemd-analyze checks that it exists).
        let directory = TestServices.temporaryDirectory("unit")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/obs-agent.service"
        try unit.replacingOccurrences(of: "/usr/bin/obs-agent", with: TestServices.agentPath).write(
            toFile: path, atomically: true, encoding: .utf8)
        let (status, out, err) = try await ChildProcess.run(
            "/usr/bin/systemd-analyze", ["verify", path], environment: TestServices.cleanEnvironment())
        #expect(status == 0, "systemd-analyze verify: \(out) \(err)")
        #expect(!(out + err).contains("obs-agent.service:"), "no warning about the unit: \(out) \(err)")
    }
}
