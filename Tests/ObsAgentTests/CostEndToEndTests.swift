import Foundation
import ObsNet
import Synchronization
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

    /// Micrometer and Keycloak families on one endpoint; every counter moves between scrapes.
    final class Target: Sendable {
        let scrapes = Mutex(0)
        let realm = Mutex("ecom")

        func body() -> String {
            let n = Double(
                scrapes.withLock { count -> Int in
                    defer { count += 1 }
                    return count
                })
            let realm = self.realm.withLock { $0 }
            var out = ""
            for (family, value) in [
                ("hikaricp_connections", 10.0), ("hikaricp_connections_active", 4), ("hikaricp_connections_idle", 6),
                ("hikaricp_connections_pending", 0), ("hikaricp_connections_max", 10), ("hikaricp_connections_min", 2),
            ] {
                out += "# TYPE \(family) gauge\n\(family){pool=\"HikariPool-1\",} \(value)\n"
            }
            out += "# TYPE hikaricp_connections_timeout_total counter\n"
            out += "hikaricp_connections_timeout_total{pool=\"HikariPool-1\",} \(n)\n"
            for timer in ["acquire", "usage", "creation"] {
                out += "# TYPE hikaricp_connections_\(timer)_seconds summary\n"
                out += "hikaricp_connections_\(timer)_seconds_count{pool=\"HikariPool-1\",} \(10 * n)\n"
                out += "hikaricp_connections_\(timer)_seconds_sum{pool=\"HikariPool-1\",} \(0.01 * n)\n"
            }
            out += "# TYPE http_server_requests_seconds summary\n"
            for route in 0..<CostEndToEndTests.routes {
                // Each route answers 200, some also 404, 429 and 503: one series each in
                // Micrometer, one per route in CloudWatch.
                let statuses = ["200"] + (route % 2 == 0 ? ["404", "503"] : []) + (route == 1 ? ["429"] : [])
                for status in statuses {
                    let labels = "method=\"GET\",status=\"\(status)\",uri=\"/api/items/\(route)/{id}\","
                    out += "http_server_requests_seconds_count{\(labels)} \(5 * n)\n"
                    out += "http_server_requests_seconds_sum{\(labels)} \(0.1 * n)\n"
                }
            }
            out += "# TYPE keycloak_logins counter\n"
            for client in CostEndToEndTests.clients {
                out += "keycloak_logins{realm=\"\(realm)\",provider=\"keycloak\",client_id=\"\(client)\",} \(4 * n)\n"
            }
            out += "# TYPE keycloak_failed_login_attempts counter\n"
            for client in CostEndToEndTests.clients {
                for reason in CostEndToEndTests.reasons {
                    out +=
                        "keycloak_failed_login_attempts{realm=\"\(realm)\",provider=\"keycloak\",error=\"\(reason)\",client_id=\"\(client)\",} \(n)\n"
                }
            }
            for event in ["refresh_tokens", "code_to_tokens"] {
                out += "# TYPE keycloak_\(event) counter\n"
                for client in CostEndToEndTests.clients {
                    out +=
                        "keycloak_\(event){realm=\"\(realm)\",provider=\"keycloak\",client_id=\"\(client)\",} \(3 * n)\n"
                }
                out += "# TYPE keycloak_\(event)_errors counter\n"
                for client in CostEndToEndTests.clients {
                    for reason in CostEndToEndTests.reasons {
                        out +=
                            "keycloak_\(event)_errors{realm=\"\(realm)\",provider=\"keycloak\",error=\"\(reason)\",client_id=\"\(client)\",} \(n)\n"
                    }
                }
            }
            return out
        }
    }

    @Test(arguments: [true, false])
    func theEstimateCountsTheSeriesThatLand(apiRoutes: Bool) async throws {
        let target = Target()
        let server = try LoopbackHTTPServer(host: "127.0.0.1", port: 0) { _ in
            HTTPServerResponse(status: 200, contentType: "text/plain; version=0.0.4", text: target.body())
        }
        let serving = Task { await server.run() }
        defer { serving.cancel() }
        // Scraped every 2 s for 8 s: the counters have their deltas even if a scrape is slow on a
        // loaded machine. A region no other test writes to, and a service and realm of this run's own: a series
        // with a Service or Realm of another run is not counted, and the rest (SpoolBytes,
        // BatchesSent, the dimensionless rollups) are the same series each run.
        let region = "ap-southeast-4"
        let run = UInt32.random(in: 0...UInt32.max)
        target.realm.withLock { $0 = "ecom-\(run)" }
        let config = try TestServices.writeTemporary(
            """
            agent:
              flush_interval: 2s
            metrics:
              api_routes: \(apiRoutes)
            sources:
              prometheus:
                - service: shop-\(run)
                  urls: [http://127.0.0.1:\(server.port)/actuator/prometheus]
                  interval: 2s
            """)
        var environment = TestServices.awsEnvironment
        environment["AWS_REGION"] = region
        let agent = try ChildProcess(
            TestServices.agentPath, ["--config", config, "--for", "8s"],
            environment: TestServices.cleanEnvironment(environment))
        #expect(await agent.wait(timeout: 60) == 0, "agent output: \(agent.stdout)")

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
