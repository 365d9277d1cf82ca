import Foundation
import Logging
import ObsCore
import ObsPrometheus
import Testing

/// Discovery that follows DNS as instances come and go, and https targets verified against a CA
/// file: the source against the Python stand-ins of scripts/lib.
@Suite(.enabled(if: TestServices.hasBinary, "runs under scripts/test"), .serialized)
struct ScrapeDiscoveryTests {
    static let logger: Logger = {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return logger
    }()

    static func script(_ name: String) -> String {
        TestServices.repositoryRoot.appendingPathComponent("scripts/lib/\(name)").path
    }

    @Test func srvDiscoveryFollowsInstancesAsTheyComeAndGo() async throws {
        let directory = TestServices.temporaryDirectory("dns")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let records = directory + "/records"
        try "_api._tcp.ecom.local=localhost:8081\n".write(toFile: records, atomically: true, encoding: .utf8)
        let dns = try ChildProcess(
            "/usr/bin/env", ["python3", Self.script("dns_standin.py"), "--srv-file", records, "--lifetime", "60"],
            environment: TestServices.cleanEnvironment())
        defer { dns.stop() }
        #expect(await dns.waitForOutput(containing: "port ", timeout: 20))
        let port =
            dns.stdout.split(separator: " ").last.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) } ?? ""

        var job = ScrapeJob(service: "api", discovery: .dnsSRV("_api._tcp.ecom.local"))
        job.dnsServer = "127.0.0.1:\(port)"
        job.path = "/metrics"
        let source = PrometheusSource(job: job, recorder: Recorder(), logger: Self.logger)
        await source.refresh()
        #expect(source.urls == ["http://127.0.0.1:8081/metrics"])

        try "_api._tcp.ecom.local=localhost:8081,localhost:8082\n".write(
            toFile: records, atomically: true, encoding: .utf8)
        await source.refresh()
        #expect(
            source.urls == ["http://127.0.0.1:8081/metrics", "http://127.0.0.1:8082/metrics"], "a new task is scraped")

        try "_api._tcp.ecom.local=localhost:8082\n".write(toFile: records, atomically: true, encoding: .utf8)
        await source.refresh()
        #expect(source.urls == ["http://127.0.0.1:8082/metrics"], "a stopped task is dropped")

        dns.stop()
        await source.refresh()
        #expect(source.urls == ["http://127.0.0.1:8082/metrics"], "a failed lookup keeps what was found")
    }

    @Test func httpsTargetsAreVerifiedAgainstTheCAFile() async throws {
        let directory = TestServices.temporaryDirectory("tls")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let (status, _, err) = try await ChildProcess.run(
            "/usr/bin/env",
            [
                "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", directory + "/key.pem", "-out",
                directory + "/cert.pem",
            ],
            environment: TestServices.cleanEnvironment())
        #expect(status == 0, "openssl: \(err)")
        try "# TYPE hikaricp_connections_active gauge\nhikaricp_connections_active{pool=\"p\",} 2.0\n"
            .write(toFile: directory + "/body", atomically: true, encoding: .utf8)
        let server = try ChildProcess(
            "/usr/bin/env",
            [
                "python3", Self.script("metrics_standin.py"), "--body", directory + "/body", "--cert",
                directory + "/cert.pem",
                "--key", directory + "/key.pem", "--lifetime", "60",
            ],
            environment: TestServices.cleanEnvironment())
        defer { server.stop() }
        #expect(await server.waitForOutput(containing: "\n", timeout: 20))
        let port = server.stdout.trimmingCharacters(in: .whitespacesAndNewlines)

        var job = ScrapeJob(service: "tls", discovery: .urls(["https://127.0.0.1:\(port)/actuator/prometheus"]))
        let untrusted = PrometheusSource(job: job, recorder: Recorder(), logger: Self.logger)
        #expect(await untrusted.scrapeAll() == 0, "a self-signed certificate is refused without the CA file")
        job.caFile = directory + "/cert.pem"
        let recorder = Recorder()
        let trusted = PrometheusSource(job: job, recorder: recorder, logger: Self.logger)
        #expect(await trusted.scrapeAll() == 1)
        let data = Aggregator(recorder: recorder).flush(timestamp: 0)
        #expect(data.contains { $0.descriptor.name == "ActiveConnections" && $0.last == 2 })
    }
}
