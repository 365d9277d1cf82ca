import Foundation
import Logging
import ObsCore
import ObsNet
import Synchronization
import Testing

@testable import ObsPrometheus

/// The source over real HTTP (libcurl to a server in the test): bodies that change between
/// scrapes, gzip, a bearer token, OpenMetrics chosen by Content-Type, and targets that fail.
@Suite struct PrometheusSourceTests {
    /// What the test server has seen and serves.
    final class Backend: Sendable {
        let spring = Mutex(ScrapeBodies.Spring())
        let keycloakLogins = Mutex(10.0)
        let requests = Mutex<[HTTPServerRequest]>([])
        static let token = "s3cret-token-\(UInt32.random(in: 0...UInt32.max))"

        func handle(_ request: HTTPServerRequest) async -> HTTPServerResponse {
            requests.withLock { $0.append(request) }
            switch request.target {
            case "/actuator/prometheus":
                guard request.headers["authorization"] == "Bearer \(Self.token)" else {
                    return HTTPServerResponse(status: 401, text: "no")
                }
                let body = spring.withLock { state -> String in
                    let body = ScrapeBodies.spring(state)
                    // Each scrape sees 100 more GET requests: 90 in (0.05, 0.1], 10 in (0.5, 1].
                    state.getBuckets = zip(state.getBuckets, [0.0, 0, 0, 90, 90, 90, 100, 100]).map { $0 + $1 }
                    state.getSum += 14.25
                    state.timeouts += 1
                    return body
                }
                return HTTPServerResponse(
                    status: 200, contentType: "text/plain; version=0.0.4; charset=utf-8",
                    body: Gzip.compress(Array(body.utf8)),
                    headers: [("Content-Encoding", "gzip")])
            case "/metrics":
                let logins = keycloakLogins.withLock { value -> Double in
                    defer { value += 5 }
                    return value
                }
                return HTTPServerResponse(
                    status: 200, contentType: "application/openmetrics-text; version=1.0.0; charset=utf-8",
                    text: ScrapeBodies.keycloakUserEvents(success: logins, failure: 1, refresh: 0))
            case "/huge":
                return HTTPServerResponse(status: 200, text: String(repeating: "padding_metric 1\n", count: 20_000))
            case "/garbage":
                return HTTPServerResponse(status: 200, text: "<html>this is not metrics {\n")
            case "/hang":
                try? await Task.sleep(for: .seconds(3))
                return HTTPServerResponse(status: 200, text: "late 1\n")
            default:
                return HTTPServerResponse(status: 404, text: "not found")
            }
        }
    }

    let backend = Backend()
    /// Failures are logged at warning; the tests check counts, not log lines.
    static let logger: Logger = {
        var logger = Logger(label: "test")
        logger.logLevel = .error
        return logger
    }()
    let server: LoopbackHTTPServer
    let recorder = Recorder()
    let directory: String

    init() throws {
        let backend = backend
        server = try LoopbackHTTPServer(host: "127.0.0.1", port: 0) { await backend.handle($0) }
        directory = NSTemporaryDirectory() + "obs-scrape-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try (Backend.token + "\n").write(toFile: directory + "/token", atomically: true, encoding: .utf8)
    }

    func flush() -> [String: MetricDatum] {
        var byName: [String: MetricDatum] = [:]
        for datum in Aggregator(recorder: recorder).flush(timestamp: 60) {
            byName["\(datum.descriptor.name){\(datum.dimensions)}"] = datum
        }
        return byName
    }

    @Test func scrapesGzippedMicrometerWithABearerTokenAndKeycloakInOpenMetrics() async throws {
        let server = self.server
        let serving = Task { await server.run() }
        defer { serving.cancel() }
        let base = "http://127.0.0.1:\(server.port)"
        var spring = ScrapeJob(service: "user-service", discovery: .urls(["\(base)/actuator/prometheus"]))
        spring.bearerTokenFile = directory + "/token"
        let secrets = Mutex<[String]>([])
        let springSource = PrometheusSource(job: spring, recorder: recorder, logger: Self.logger) { s in
            secrets.withLock { $0.append(s) }
        }
        let keycloakSource = PrometheusSource(
            job: ScrapeJob(service: "keycloak", discovery: .urls(["\(base)/metrics"])), recorder: recorder,
            logger: Self.logger)
        for _ in 0..<3 {
            #expect(await springSource.scrapeAll() == 1)
            #expect(await keycloakSource.scrapeAll() == 1)
        }
        let data = flush()
        let get = "{Method=GET,Route=/api/products/{id},Service=user-service}"
        #expect(data["Requests\(get)"]?.value == .single(200), "two intervals of 100 requests")
        #expect(data["Timeouts{Pool=HikariPool-1,Service=user-service}"]?.value == .single(2))
        if case .distribution(let statistics, _) = data["Latency\(get)"]?.value {
            #expect(statistics.sampleCount == 200)
            #expect(abs(statistics.sum - 28_500) / 28_500 < 0.05)
        } else {
            Issue.record("no latency distribution")
        }
        #expect(data["LoginSuccess{Client=web-app,Realm=ecom}"]?.value == .single(10))
        let target = "127.0.0.1:\(server.port)/actuator/prometheus"
        if case .statistics(let up) = data["ScrapeUp{Service=user-service,Target=\(target)}"]?.value {
            #expect(up == StatisticSet(sampleCount: 3, sum: 3, minimum: 1, maximum: 1))
        } else {
            Issue.record("no ScrapeUp")
        }
        #expect(data["ScrapeSamples{Service=user-service,Target=\(target)}"]?.last == 33)
        #expect(secrets.withLock { $0 }.contains(Backend.token), "the token is registered for redaction")
        let seen = backend.requests.withLock { $0 }
        #expect(seen.allSatisfy { $0.headers["accept"] == ExpositionFormat.acceptHeader })
        #expect(seen.allSatisfy { $0.headers["user-agent"] == BuildInfo.userAgent })
        #expect(
            seen.filter { $0.target == "/actuator/prometheus" }.allSatisfy {
                ($0.headers["accept-encoding"] ?? "").contains("gzip")
            })
    }

    @Test func failingTargetsAreDownAndCountedAndRecordNothing() async throws {
        let server = self.server
        let serving = Task { await server.run() }
        defer { serving.cancel() }
        let base = "http://127.0.0.1:\(server.port)"
        var job = ScrapeJob(
            service: "broken",
            discovery: .urls([
                "\(base)/garbage", "\(base)/hang", "\(base)/missing", "\(base)/actuator/prometheus",
                "http://127.0.0.1:1/metrics",
            ]))
        job.timeout = 1
        let source = PrometheusSource(job: job, recorder: recorder, logger: Self.logger)
        #expect(await source.scrapeAll() == 0)
        #expect(recorder.selfMetrics[.scrapeFailed] == 5)
        let data = flush()
        let up = data.filter { $0.key.hasPrefix("ScrapeUp") }
        #expect(up.count == 5)
        #expect(up.values.allSatisfy { $0.last == 0 })
        #expect(
            data.keys.allSatisfy { $0.hasPrefix("Scrape") },
            "nothing but the scrapes' own health: \(data.keys.sorted())")
    }

    @Test func aBodyPastTheSizeLimitFailsTheScrape() async throws {
        let server = self.server
        let serving = Task { await server.run() }
        defer { serving.cancel() }
        var job = ScrapeJob(service: "huge", discovery: .urls(["http://127.0.0.1:\(server.port)/huge"]))
        job.maxResponseBytes = 64 << 10
        let source = PrometheusSource(job: job, recorder: recorder, logger: Self.logger)
        #expect(await source.scrapeAll() == 0, "340 kB against a 64 kB limit")
        #expect(recorder.selfMetrics[.scrapeFailed] == 1)
        job.maxResponseBytes = 1 << 20
        #expect(await PrometheusSource(job: job, recorder: recorder, logger: Self.logger).scrapeAll() == 1)
    }

    @Test func urlsAreBuiltForDiscoveredInstances() {
        var job = ScrapeJob(service: "s", discovery: .dnsA(host: "localhost", port: 8080))
        #expect(job.url(host: "10.0.1.5", port: 8080) == "http://10.0.1.5:8080/actuator/prometheus")
        job.scheme = "https"
        job.path = "/metrics"
        #expect(job.url(host: "fd00::5", port: 9000) == "https://[fd00::5]:9000/metrics")
        #expect(ScrapeInstance.target(of: "https://[fd00::5]:9000/metrics?x=1") == "[fd00::5]:9000/metrics")
    }

    @Test func dnsADiscoveryFindsLocalhost() throws {
        let urls = try PrometheusSource.resolve(ScrapeJob(service: "s", discovery: .dnsA(host: "localhost", port: 9)))
        #expect(urls.contains("http://127.0.0.1:9/actuator/prometheus"))
    }
}
