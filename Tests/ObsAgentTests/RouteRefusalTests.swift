import Foundation
import Testing

/// The agent binary refuses to start, with exit status 2 and one line naming the key, when a
/// configured source's signal cannot be sent; the metric sink does not change that.
@Suite(.enabled(if: TestServices.hasBinary, "needs the built obs-agent (scripts/test builds it)"))
struct RouteRefusalTests {
    @Test(arguments: [
        (
            "sources:\n  xray:\n    address: 127.0.0.1:0\n",
            "config: sources.xray: sending trace segments to X-Ray needs a region"
        ),
        (
            "metrics:\n  sink: emf\nsources:\n  xray:\n    address: 127.0.0.1:0\n",
            "config: sources.xray: sending trace segments to X-Ray needs a region"
        ),
        (
            "metrics:\n  sink: cloudwatch\nsources:\n  statsd:\n    address: 127.0.0.1:0\n",
            "config: metrics.sink: cloudwatch needs a region"
        ),
    ])
    func aSourceWhoseSignalCannotBeSentStopsTheStart(_ yaml: String, _ expected: String) async throws {
        let config = try TestServices.writeTemporary(yaml)
        defer { try? FileManager.default.removeItem(atPath: config) }
        let (status, out, err) = try await ChildProcess.run(
            TestServices.agentPath, ["--config", config, "--once"], environment: TestServices.cleanEnvironment())
        #expect(status == 2, "\(out)\(err)")
        #expect(err.contains(expected), "\(err)")
        #expect(!out.contains("obs-agent starting"), "nothing started")
    }
}
