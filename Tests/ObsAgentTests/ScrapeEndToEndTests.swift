import Foundation
import ObsCore
import ObsNet
import ObsPrometheus
import Synchronization
import Testing

/// The agent binary scraping a Spring-like service found by DNS SRV (the stand-in of
/// scripts/lib/dns_standin.py) and a Keycloak-like one by URL, both served by this test with
/// counters that move between scrapes; what lands in the local CloudWatch is read back with boto3.
@Suite(
    .enabled(if: TestServices.hasBinary && TestServices.hasAWS, "needs the built obs-agent and the local AWS endpoint"),
    .serialized)
struct ScrapeEndToEndTests {
    /// Serves Micrometer and Keycloak output; every scrape sees 50 more requests and 4 more logins.
    final class Targets: Sendable {
        let scrapes = Mutex<[String: Int]>([:])

        func handle(_ request: HTTPServerRequest) -> HTTPServerResponse {
            let n = Double(
                scrapes.withLock { counts -> Int in
                    defer { counts[request.target, default: 0] += 1 }
                    return counts[request.target, default: 0]
                })
            switch request.target {
            case "/actuator/prometheus":
                let get = #"method="GET",outcome="SUCCESS",status="200",uri="/api/users/{id}","#
                let fail = #"method="POST",outcome="SERVER_ERROR",status="503",uri="/api/users","#
                return HTTPServerResponse(
                    status: 200, contentType: "text/plain; version=0.0.4; charset=utf-8",
                    text: """
                        # TYPE hikaricp_connections_active gauge
                        hikaricp_connections_active{pool="HikariPool-1",} 4.0
                        # TYPE hikaricp_connections_max gauge
                        hikaricp_connections_max{pool="HikariPool-1",} 10.0
                        # TYPE hikaricp_connections_timeout_total counter
                        hikaricp_connections_timeout_total{pool="HikariPool-1",} \(3 * n)
                        # TYPE http_server_requests_seconds summary
                        http_server_requests_seconds_count{\(get)} \(1000 + 50 * n)
                        http_server_requests_seconds_sum{\(get)} \(20 + 1.0 * n)
                        http_server_requests_seconds_count{\(fail)} \(2 * n)
                        http_server_requests_seconds_sum{\(fail)} \(0.1 * n)

                        """)
            case "/realms/ecom/metrics":
                return HTTPServerResponse(
                    status: 200, contentType: "text/plain; version=0.0.4",
                    text: """
                        # TYPE keycloak_logins counter
                        keycloak_logins{realm="ecom",provider="keycloak",client_id="web-app",} \(4 * n)
                        # TYPE keycloak_failed_login_attempts counter
                        keycloak_failed_login_attempts{realm="ecom",provider="keycloak",error="invalid_user_credentials",client_id="web-app",} \(n)

                        """)
            default:
                return HTTPServerResponse(status: 404, text: "no")
            }
        }
    }

    @Test func scrapedMetricsLandInCloudWatch() async throws {
        let targets = Targets()
        let server = try LoopbackHTTPServer(host: "127.0.0.1", port: 0) { targets.handle($0) }
        let serving = Task { await server.run() }
        defer { serving.cancel() }
        let service = "user-service-\(UInt32.random(in: 0...UInt32.max))"
        let srvName = "_\(service)._tcp.ecom.local"
        let script = TestServices.repositoryRoot.appendingPathComponent("scripts/lib/dns_standin.py").path
        let dns = try ChildProcess(
            "/usr/bin/env", ["python3", script, "--srv", "\(srvName)=localhost:\(server.port)"],
            environment: TestServices.cleanEnvironment())
        defer { dns.stop() }
        #expect(await dns.waitForOutput(containing: "port ", timeout: 20))
        let dnsPort =
            dns.stdout.split(separator: " ").last.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) } ?? ""

        let config = try TestServices.writeTemporary(
            """
            agent:
              flush_interval: 2s
            sources:
              prometheus:
                - service: \(service)
                  dns_srv: \(srvName)
                  dns_server: 127.0.0.1:\(dnsPort)
                  interval: 60s
                - service: keycloak-\(service)
                  urls: [http://127.0.0.1:\(server.port)/realms/ecom/metrics]
                  interval: 60s
            """)
        let agent = try ChildProcess(
            TestServices.agentPath, ["--config", config, "--once"],
            environment: TestServices.cleanEnvironment(TestServices.awsEnvironment))
        #expect(await agent.wait(timeout: 60) == 0, "agent output: \(agent.stdout)")
        #expect(agent.stdout.contains("scrape targets changed"), "the SRV record was found")

        let api = try await LandedMetric.read(namespace: "Obs/API", dimension: "Service=\(service)").filter {
            $0.dimensions["Service"] == service
        }
        func total(_ name: String, _ dimensions: [String: String]) -> Double? {
            api.first { metric in metric.name == name && dimensions.allSatisfy { metric.dimensions[$0.key] == $0.value }
            }?.total
        }
        // One interval: the start scrape is the baseline, the shutdown scrape the delta.
        #expect(total("Requests", ["Method": "GET", "Route": "/api/users/{id}"]) == 50)
        #expect(total("Requests", ["Method": "POST", "Route": "/api/users"]) == 2)
        #expect(total("Faults", ["Method": "POST", "Route": "/api/users"]) == 2)
        #expect(total("Faults", ["Method": "GET", "Route": "/api/users/{id}"]) == 0)
        // Per route: requests, faults, latency; per service only: errors and throttles. No status class.
        #expect(api.allSatisfy { $0.dimensions["StatusClass"] == nil })
        #expect(
            api.filter { $0.name == "Errors" || $0.name == "Throttles" }.allSatisfy {
                Set($0.dimensions.keys) == ["Service"]
            })
        #expect(
            Set(api.filter { $0.dimensions["Route"] != nil }.map(\.name)) == ["Requests", "Faults", "Latency"])
        let latency = api.first { $0.name == "Latency" && $0.dimensions["Method"] == "GET" }
        #expect(latency?.datapoints.last?.sample_count == 50)
        // 1 s over 50 requests; CloudWatch computes it from the distribution's values (within 1 %).
        #expect(abs((latency?.datapoints.last?.average ?? 0) - 20) <= 0.2)
        #expect(latency?.unit == "Milliseconds")

        let pools = try await LandedMetric.read(namespace: "Obs/Pool", dimension: "Service=\(service)").filter {
            $0.dimensions["Service"] == service
        }
        #expect(pools.first { $0.name == "Timeouts" && $0.dimensions["Pool"] == "HikariPool-1" }?.total == 3)
        #expect(
            pools.first { $0.name == "Utilization" && $0.dimensions["Pool"] == "HikariPool-1" }?.datapoints.last?
                .average == 40)

        let auth = try await LandedMetric.read(namespace: "Obs/Auth", dimension: "Realm=ecom").filter {
            $0.dimensions["Realm"] == "ecom"
        }
        #expect(auth.contains { $0.name == "LoginSuccess" && $0.dimensions["Client"] == "web-app" })
        let up = try await LandedMetric.read(namespace: "Obs/Agent", dimension: "Service=\(service)").filter {
            $0.name == "ScrapeUp" && $0.dimensions["Service"] == service
        }
        #expect(up.count == 2, "per target, and per service for alarms")
        #expect(up.allSatisfy { $0.datapoints.last?.average == 1 })
        // moto matches GetMetricStatistics' dimensions as a subset, so the rollup's datapoint also
        // holds the per-route datums (50 and 2); only the rollup itself is 52.
        #expect(
            api.contains {
                $0.name == "Requests" && $0.dimensions == ["Service": service] && $0.datapoints.last?.maximum == 52
            },
            "the per-service rollup")
    }
}
