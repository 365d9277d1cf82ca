import Foundation
import ObsAWS
import ObsNet

/// scripts/lib/fault_proxy.py in front of the local AWS endpoint: the tests switch its faults on
/// and off and read what it forwarded.
final class FaultProxy: @unchecked Sendable {
    let child: ChildProcess
    let url: String
    private let transport = CurlTransport(connectTimeout: 2, totalTimeout: 10, label: "fault-proxy-control")

    struct Stats: Decodable {
        struct Datums: Decodable {
            var datums: Int
            var sum: Double
        }
        var mode: String
        var outcomes: [String: Int]
        var datums: [String: Datums]
        var batches: [Int]
        var duplicates: Int

        var forwardedDatums: Int { batches.reduce(0, +) }
    }

    init(target: String, hang: Double = 10) async throws {
        let script = TestServices.repositoryRoot.appendingPathComponent("scripts/lib/fault_proxy.py").path
        child = try ChildProcess(
            "/usr/bin/env", ["python3", script, "--target", target, "--hang", "\(hang)", "--lifetime", "900"],
            environment: TestServices.cleanEnvironment())
        _ = await child.waitForOutput(containing: "\n", timeout: 15)
        guard let port = Int(child.stdout.split(separator: "\n").first ?? "") else {
            throw ChildProcess.Failure(message: "fault proxy did not start: \(child.stderr)")
        }
        url = "http://127.0.0.1:\(port)"
    }

    func set(_ mode: String) async throws {
        _ = try await transport.send(HTTPRequest(method: "GET", url: "\(url)/__fault?mode=\(mode)"))
    }

    func stats() async throws -> Stats {
        let response = try await transport.send(HTTPRequest(method: "GET", url: "\(url)/__stats"))
        return try JSONDecoder().decode(Stats.self, from: Data(response.body))
    }

    func stop() async {
        child.stop()
    }
}

extension ChildProcess {
    struct Failure: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }

    /// The datums of every PutMetricData batch a `spooled` log line reports: what the agent
    /// accepted into its spool.
    var spooledDatums: [Int] {
        stdout.split(separator: "\n").filter { $0.contains("\"msg\":\"spooled\"") }.compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String],
                object["kind"] == "put-metric-data"
            else { return nil }
            return object["items"].flatMap { Int($0) }
        }
    }
}
