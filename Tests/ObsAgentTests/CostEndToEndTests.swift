import Foundation
import Testing

/// `obsctl cost` counts the series the agent really publishes: the agent scrapes a stand-in
/// service of known shape (routes, pool, Keycloak realm, clients and reasons), ships to the local
/// CloudWatch in a region of its own, and the distinct series that land, namespace by namespace,
/// are the estimate's for the same config with assumptions that describe the stand-in.
@Suite(
    .enabled(
        if: TestServices.hasBinary && TestServices.hasAWS && Obsctl.isBuilt,
        "needs the built obs-agent and obsctl and the local AWS endpoint"),
    .serialized)
struct CostEndToEndTests {
    static let routes = 6
    static let clients = ["web-app", "admin-cli"]
    static let reasons = ["invalid_user_credentials", "user_not_found"]

    /// scripts/lib/shop_standin.py (its own process: a busy test process cannot slow the scrapes)
    /// with this suite's shape; returns it and its port.
    static func standIn(realm: String) async throws -> (ChildProcess, Int) {
        let script = TestServices.repositoryRoot.appendingPathComponent("scripts/lib/shop_standin.py").path
        let child = try ChildProcess(
            "/usr/bin/env",
            [
                "python3", script, "--routes", "\(routes)", "--clients", clients.joined(separator: ","), "--reasons",
                reasons.joined(separator: ","), "--realm", realm,
            ],
            environment: TestServices.cleanEnvironment())
        _ = await child.waitForOutput(containing: "\n", timeout: 20)
        let port = Int(child.stdout.split(separator: "\n").first ?? "") ?? 0
        #expect(port > 0, "the stand-in listens: \(child.stderr)")
        return (child, port)
    }

    /// Runs the agent for 8 s, scraping the stand-in on `port` every 2 s as `service` and shipping
    /// to the local endpoint's `region`; returns the config it ran with.
    static func ship(service: String, port: Int, region: String, apiRoutes: Bool = true) async throws -> String {
        let config = try TestServices.writeTemporary(
            """
            agent:
              flush_interval: 2s
            metrics:
              api_routes: \(apiRoutes)
            sources:
              prometheus:
                - service: \(service)
                  urls: [http://127.0.0.1:\(port)/actuator/prometheus]
                  interval: 2s
            """)
        var environment = TestServices.awsEnvironment
        environment["AWS_REGION"] = region
        let agent = try ChildProcess(
            TestServices.agentPath, ["--config", config, "--for", "8s"],
            environment: TestServices.cleanEnvironment(environment))
        #expect(await agent.wait(timeout: 60) == 0, "agent output: \(agent.stdout)")
        return config
    }

    @Test(arguments: [true, false])
    func theEstimateCountsTheSeriesThatLand(apiRoutes: Bool) async throws {
        // Scraped every 2 s for 8 s: the counters have their deltas even if a scrape is slow on a
        // loaded machine. A region no other test writes to, and a service and realm of this run's own: a series
        // with a Service or Realm of another run is not counted, and the rest (SpoolBytes,
        // BatchesSent, the dimensionless rollups) are the same series each run.
        let region = "ap-southeast-4"
        let run = UInt32.random(in: 0...UInt32.max)
        let (standIn, port) = try await Self.standIn(realm: "ecom-\(run)")
        defer { standIn.stop() }
        let config = try await Self.ship(service: "shop-\(run)", port: port, region: region, apiRoutes: apiRoutes)

        let (status, out, err) = try await ChildProcess.run(
            Obsctl.path,
            [
                "cost", "--config", config, "--prices",
                TestServices.repositoryRoot.path + "/packaging/cloudwatch-prices.json", "--json",
                "--assume", "Route=\(Self.routes)", "--assume", "Target=1", "--assume", "Pool=1",
                "--assume", "Realm=1", "--assume", "Client=\(Self.clients.count)",
                "--assume", "Reason=\(Self.reasons.count)", "--assume", "Event=2", "--assume", "Kind=1",
            ],
            environment: TestServices.cleanEnvironment())
        #expect(status == 0, "\(err)")
        let estimate = try #require(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any])
        var expected: [String: Int] = [:]
        for line in estimate["metrics"] as? [[String: Any]] ?? [] {
            expected[line["namespace"] as? String ?? "?", default: 0] += line["series"] as? Int ?? 0
        }
        #expect(expected["Obs/API"] == (apiRoutes ? 3 * Self.routes : 0) + 6)

        for namespace in ["Obs/API", "Obs/Pool", "Obs/Auth", "Obs/Agent"] {
            let landed = try await LandedMetric.read(namespace: namespace, region: region)
                // Dropped and Incidents are not in the estimate: they exist only when something goes wrong.
                .filter { $0.dimensions["Reason"] == nil || namespace != "Obs/Agent" }
                .filter { ($0.dimensions["Service"] ?? "shop-\(run)") == "shop-\(run)" }
                .filter { ($0.dimensions["Realm"] ?? "ecom-\(run)") == "ecom-\(run)" }
            let series = Set(landed.map { "\($0.name)\($0.dimensions.sorted { $0.key < $1.key })" })
            #expect(
                series.count == expected[namespace] ?? 0,
                "\(namespace): \(series.count) series landed, the estimate counts \(expected[namespace] ?? 0): \(series.sorted())"
            )
        }
    }
}
