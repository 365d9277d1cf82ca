import Foundation
import Testing

/// The Python aws-xray-sdk sends to the agent's UDP port, as the services do; the segments are read
/// back from the local X-Ray endpoint (BatchGetTraces) and the API metrics from CloudWatch.
@Suite(
    .enabled(
        if: TestServices.hasAWS && TestServices.hasBinary, "needs scripts/test: moto_server and the built obs-agent"),
    .serialized)
struct XRayEndToEndTests {
    struct Sent: Decodable {
        var traces: [String]
        var segments: [String]
    }

    @Test func segmentsFromTheSDKLandAndBecomeAPIMetrics() async throws {
        let config = try TestServices.writeTemporary(
            """
            agent:
              flush_interval: 25s
            sources:
              xray:
                address: 127.0.0.1:0
                batch_delay: 200ms
            """)
        var environment = TestServices.awsEnvironment
        environment["AWS_ENDPOINT_URL_XRAY"] = TestServices.awsEndpoint
        let agent = try ChildProcess(
            TestServices.agentPath, ["--config", config, "--for", "25s", "--log-level", "debug"],
            environment: TestServices.cleanEnvironment(environment))
        #expect(await agent.waitForOutput(containing: "xray listening", timeout: 20), "\(agent.stdout)\(agent.stderr)")
        let listening = agent.stdout.split(separator: "\n").first { $0.contains("xray listening") } ?? ""
        let object = try JSONSerialization.jsonObject(with: Data(listening.utf8)) as? [String: String]
        let address = try #require(object?["address"])

        // First one datagram that is not JSON, which is counted and dropped. Sent from here: a Python
        // process started after the SDK's, on a machine the whole suite loads, once missed the
        // agent's one flush interval (the SDK's 35 segments took 12 s to arrive that run).
        let port = UInt16(address.split(separator: ":").last.map(String.init) ?? "") ?? 0
        var target = sockaddr_in()
        target.sin_family = sa_family_t(AF_INET)
        target.sin_port = port.bigEndian
        target.sin_addr.s_addr = inet_addr("127.0.0.1")
        let datagram = Array("{\"format\":\"json\",\"version\":1}\n{not json".utf8)
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        let written = withUnsafePointer(to: &target) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { to in
                datagram.withUnsafeBytes {
                    sendto(fd, $0.baseAddress, $0.count, 0, to, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
        close(fd)
        #expect(written == datagram.count)

        let script = TestServices.repositoryRoot.appendingPathComponent("scripts/lib/xray_send.py").path
        let count = 35
        let service = "user-service-\(UUID().uuidString.prefix(6))"
        let (status, out, err) = try await ChildProcess.run(
            "/usr/bin/env", ["python3", script, address, "\(count)", service],
            environment: TestServices.cleanEnvironment())
        #expect(status == 0, "\(err)")
        let sent = try JSONDecoder().decode(Sent.self, from: Data(out.utf8))
        #expect(await agent.wait(timeout: 60) == 0, "\(agent.stdout.suffix(2000))")

        let reader = TestServices.repositoryRoot.appendingPathComponent("scripts/lib/aws_read.py").path
        let (readStatus, readOut, readErr) = try await ChildProcess.run(
            "/usr/bin/env", ["python3", reader, TestServices.awsEndpoint, "traces"] + sent.traces,
            environment: TestServices.cleanEnvironment())
        #expect(readStatus == 0, "\(readErr)")
        let documents = try JSONSerialization.jsonObject(with: Data(readOut.utf8)) as? [[String: Any]] ?? []
        #expect(
            Set(documents.compactMap { $0["id"] as? String }) == Set(sent.segments),
            "every segment landed, read back by BatchGetTraces")
        #expect(documents.allSatisfy { ($0["subsegments"] as? [Any])?.count == 1 }, "with its subsegment")

        let api = try await LandedMetric.read(namespace: "Obs/API", dimension: "Service=\(service)").filter {
            $0.dimensions["Service"] == service
        }
        /// Per route when `route`, else the per-service rollup. (moto answers a statistics query
        /// with every datum whose dimensions include the query's, so a per-service total of a
        /// metric also published per route reads both; Errors is published per service only.)
        func total(_ name: String, route: Bool) -> Double {
            var seen = Set<[String: String]>()
            return api.filter {
                $0.name == name
                    && (route ? $0.dimensions["Route"] == "/api/users/{id}" : Set($0.dimensions.keys) == ["Service"])
                    && seen.insert($0.dimensions).inserted
            }
            .reduce(0) { $0 + $1.total }
        }
        let faults = (0..<count).filter { $0 % 5 == 0 }.count
        let clientErrors = (0..<count).filter { $0 % 5 != 0 && $0 % 7 == 0 }.count
        #expect(total("Requests", route: true) == Double(count))
        #expect(total("Faults", route: true) == Double(faults))
        #expect(total("Errors", route: false) == Double(clientErrors))
        #expect(!api.contains { $0.name == "Errors" && $0.dimensions["Route"] != nil }, "errors are per service only")
        #expect(api.contains { $0.name == "Requests" && Set($0.dimensions.keys) == ["Service"] }, "and the rollup")
        #expect(api.contains { $0.name == "Latency" && $0.dimensions["Method"] == "GET" })

        let agentMetrics = try await LandedMetric.read(namespace: "Obs/Agent", dimension: "Reason=datagram_bad_json")
        #expect(
            agentMetrics.contains {
                $0.name == "Dropped" && $0.dimensions["Reason"] == "datagram_bad_json" && $0.total >= 1
            })
        #expect(agent.stdout.contains("invalid datagrams dropped"))
        try? FileManager.default.removeItem(atPath: config)
    }
}
