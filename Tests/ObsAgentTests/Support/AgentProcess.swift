import Foundation
import Synchronization
import Testing

/// The services scripts/test provides, and the binaries it built.
enum TestServices {
    static let environment = ProcessInfo.processInfo.environment
    static let hasPostgres = environment["OBS_TEST_PG_PORT"] != nil
    static let hasAWS = environment["OBS_TEST_AWS_ENDPOINT"] != nil
    static let hasBinary = FileManager.default.isExecutableFile(atPath: agentPath)
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    static var agentPath: String {
        environment["OBS_AGENT_BIN"] ?? repositoryRoot.appendingPathComponent(".build/debug/obs-agent").path
    }

    static var pgPort: String { environment["OBS_TEST_PG_PORT"] ?? "" }
    static var pgPassword: String { environment["OBS_TEST_PG_PASSWORD"] ?? "" }
    static var awsEndpoint: String { environment["OBS_TEST_AWS_ENDPOINT"] ?? "" }

    /// An environment with nothing of the developer's AWS or DB settings, plus `extra`.
    static func cleanEnvironment(_ extra: [String: String] = [:]) -> [String: String] {
        var env = environment.filter {
            !$0.key.hasPrefix("AWS_") && !$0.key.hasPrefix("DB_") && !$0.key.hasPrefix("KC_")
        }
        env["AWS_EC2_METADATA_DISABLED"] = "true"
        env.merge(extra) { $1 }
        return env
    }

    /// AWS settings pointing at the local endpoint (every service: AWS_ENDPOINT_URL, so that no
    /// request can reach real AWS), and a spool of its own.
    static var awsEnvironment: [String: String] {
        [
            "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing-secret-key", "AWS_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": awsEndpoint, "AWS_ENDPOINT_URL_CLOUDWATCH": awsEndpoint,
            "OBS_SPOOL_DIR": temporaryDirectory("spool"),
        ]
    }

    /// A new directory name under the temporary directory (not created).
    static func temporaryDirectory(_ prefix: String) -> String {
        NSTemporaryDirectory() + "obs-\(prefix)-\(UUID().uuidString)"
    }

    /// A YAML config for one database of the test PostgreSQL.
    static func config(
        instance: String, database: String = "microservices_ecom", flushInterval: Int, password: String? = nil
    ) -> String {
        """
        agent:
          flush_interval: \(flushInterval)s
        sources:
          postgres:
            - instance: \(instance)
              host: 127.0.0.1
              port: ${PGPORT_FOR_TEST}
              database: \(database)
              user: obs_agent
              password: \(password ?? "${DB_PASSWORD}")
        """
    }

    static func writeTemporary(_ text: String) throws -> String {
        let path = NSTemporaryDirectory() + "obs-test-\(UUID().uuidString).yaml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}

/// A child process whose standard output and error are collected as they come.
final class ChildProcess: @unchecked Sendable {
    let process = Process()
    private let out = DataBox()
    private let err = DataBox()
    private let stdoutPipe = Pipe()
    private let stderrPipe = Pipe()

    init(_ path: String, _ arguments: [String], environment: [String: String]) throws {
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.environment = environment
        let stdout = stdoutPipe
        let stderr = stderrPipe
        process.standardOutput = stdout
        process.standardError = stderr
        process.standardInput = FileHandle.nullDevice
        stdout.fileHandleForReading.readabilityHandler = { [out] handle in
            out.append(handle.availableData)
        }
        stderr.fileHandleForReading.readabilityHandler = { [err] handle in
            err.append(handle.availableData)
        }
        try process.run()
    }

    var stdout: String { out.text }
    var stderr: String { err.text }

    /// Waits until standard output holds `text`, or `timeout` seconds pass.
    func waitForOutput(containing text: String, timeout: Double) async -> Bool {
        await waitForOutput(timeout: timeout) { $0.contains(text) }
    }

    /// Waits until standard output satisfies `condition`, or `timeout` seconds pass, or the process
    /// exits.
    func waitForOutput(timeout: Double, _ condition: (String) -> Bool) async -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition(stdout) { return true }
            if !process.isRunning { return condition(stdout) }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return false
    }

    /// Waits for the process to exit (killing it after `timeout` seconds) and returns its status.
    func wait(timeout: Double) async -> Int32 {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { try? await Task.sleep(for: .milliseconds(50)) }
        if process.isRunning {
            process.terminate()
            kill(process.processIdentifier, SIGKILL)
            Issue.record("process did not exit within \(timeout) s")
        }
        process.waitUntilExit()
        // What the handlers have not read yet: the writer has exited, so this ends. (A fixed
        // pause lost the last lines of a long output on a loaded machine.)
        for (pipe, box) in [(stdoutPipe, out), (stderrPipe, err)] {
            pipe.fileHandleForReading.readabilityHandler = nil
            box.append(pipe.fileHandleForReading.readDataToEndOfFile())
        }
        return process.terminationStatus
    }

    /// Stops the process with SIGKILL (a test's helper servers need no graceful stop; SIGTERM may be
    /// ignored in a child of the test runner) and reaps it.
    func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// Runs to completion and returns (status, stdout, stderr).
    static func run(_ path: String, _ arguments: [String], environment: [String: String], timeout: Double = 60)
        async throws
        -> (Int32, String, String)
    {
        let child = try ChildProcess(path, arguments, environment: environment)
        let status = await child.wait(timeout: timeout)
        return (status, child.stdout, child.stderr)
    }
}

/// What boto3 reads back from the local CloudWatch (scripts/lib/cloudwatch_read.py).
struct LandedMetric: Decodable {
    struct Point: Decodable {
        var sum: Double?
        var sample_count: Double?
        var average: Double?
        var maximum: Double?
    }
    var name: String
    var dimensions: [String: String]
    var unit: String?
    var datapoints: [Point]

    var total: Double { datapoints.reduce(0) { $0 + ($1.sum ?? 0) } }

    /// What landed in `namespace`; with `dimension` (NAME=VALUE), only metrics that have it, and
    /// with `metric`, only that metric, which keeps the read short when many tests share the
    /// endpoint (moto scans every datum of the namespace for each metric's statistics).
    static func read(
        namespace: String, dimension: String? = nil, metric: String? = nil, region: String = "us-east-1"
    ) async throws -> [LandedMetric] {
        let script = TestServices.repositoryRoot.appendingPathComponent("scripts/lib/cloudwatch_read.py").path
        let (status, out, err) = try await ChildProcess.run(
            "/usr/bin/env",
            ["python3", script, "--endpoint", TestServices.awsEndpoint, "--namespace", namespace, "--region", region]
                + (dimension.map { ["--dimension", $0] } ?? []) + (metric.map { ["--metric", $0] } ?? []),
            environment: TestServices.cleanEnvironment(), timeout: 180)
        guard status == 0 else { throw ReadError(message: err) }
        return try JSONDecoder().decode([LandedMetric].self, from: Data(out.utf8))
    }

    struct ReadError: Error { var message: String }
}

/// Bytes appended from one thread and read from another.
final class DataBox: Sendable {
    private let data = Mutex(Data())
    func append(_ more: Data) { data.withLock { $0.append(more) } }
    var text: String { data.withLock { String(decoding: $0, as: UTF8.self) } }
}
