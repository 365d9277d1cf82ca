import Foundation
import ObsAWS
import ObsNet
import Testing

/// The wall clock jumps (NTP steps it, an operator sets it) while the agent runs: a small
/// LD_PRELOAD library (`scripts/lib/wallclock_shift.c`, built by the test) moves the agent's wall
/// clock, and only that, an hour back and forth while segments wait in a partial batch. Waits are
/// measured on the monotonic clock, so each batch still goes after its one-second delay (with the
/// wall clock, the batch gathered before a jump back would wait an hour), and flushes go on.
/// (libfaketime does not fit: it also moves the agent's timers, which a real step does not.)
@Suite(
    .enabled(
        if: TestServices.hasAWS && TestServices.hasBinary, "needs scripts/test: moto_server and the built obs-agent"),
    .serialized)
struct ClockJumpTests {
    struct Sent: Decodable {
        var traces: [String]
        var segments: [String]
    }

    @Test func jumpsOfTheWallClockDelayNothingAndLoseNothing() async throws {
        let directory = TestServices.temporaryDirectory("clock")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let shim = directory + "/wallclock_shift.so"
        let source = TestServices.repositoryRoot.appendingPathComponent("scripts/lib/wallclock_shift.c").path
        let (built, _, buildErr) = try await ChildProcess.run(
            "/usr/bin/env", ["gcc", "-shared", "-fPIC", "-O2", "-o", shim, source, "-ldl", "-lpthread"],
            environment: TestServices.cleanEnvironment())
        try #require(built == 0, "\(buildErr)")
        let clock = directory + "/shift"
        try "0".write(toFile: clock, atomically: true, encoding: .utf8)
        let config = directory + "/agent.yaml"
        try """
        agent:
          flush_interval: 10s
          health_address: 127.0.0.1:0
        sources:
          xray:
            address: 127.0.0.1:0
        """.write(toFile: config, atomically: true, encoding: .utf8)
        var environment = TestServices.awsEnvironment
        environment["AWS_ENDPOINT_URL_XRAY"] = TestServices.awsEndpoint
        environment["LD_PRELOAD"] = shim
        environment["OBS_WALLCLOCK_FILE"] = clock
        // Started through `sh -c 'exec …'` (the same process: sh execs it). Started straight from
        // Foundation's Process with LD_PRELOAD set, the agent did not see its arguments.
        let agent = try ChildProcess(
            "/bin/sh", ["-c", #"exec "$0" --config "$1" --log-level debug"#, TestServices.agentPath, config],
            environment: TestServices.cleanEnvironment(environment))
        defer { agent.stop() }
        #expect(await agent.waitForOutput(containing: "xray listening", timeout: 20), "\(agent.stdout)\(agent.stderr)")
        let listening = agent.stdout.split(separator: "\n").first { $0.contains("xray listening") } ?? ""
        let address = try #require(
            (try JSONSerialization.jsonObject(with: Data(listening.utf8)) as? [String: String])?["address"])
        #expect(await agent.waitForOutput(containing: "health endpoint listening", timeout: 20))
        let healthLine = agent.stdout.split(separator: "\n").first { $0.contains("health endpoint listening") } ?? ""
        let health = try #require(
            (try JSONSerialization.jsonObject(with: Data(healthLine.utf8)) as? [String: String])?["address"])
        let transport = CurlTransport(label: "clock-test")

        let sender = TestServices.repositoryRoot.appendingPathComponent("scripts/lib/xray_send.py").path
        let reader = TestServices.repositoryRoot.appendingPathComponent("scripts/lib/aws_read.py").path
        // Back an hour, forward two, back one: each time with 7 segments waiting in a batch
        // (a batch of 50 would go at once).
        for (round, jump) in ["-3600", "3600", "0"].enumerated() {
            let (status, out, err) = try await ChildProcess.run(
                "/usr/bin/env", ["python3", sender, address, "7", "clock-\(round)"],
                environment: TestServices.cleanEnvironment())
            #expect(status == 0, "\(err)")
            let sent = try JSONDecoder().decode(Sent.self, from: Data(out.utf8))
            try jump.write(toFile: clock, atomically: true, encoding: .utf8)
            let jumped = Date()
            // The step is not taken for a stuck flush loop (which would make systemd's watchdog
            // and an orchestrator's probe restart the agent). The shim reads the file every 100 ms.
            try await Task.sleep(for: .milliseconds(300))
            let probe = try await transport.send(HTTPRequest(method: "GET", url: "http://\(health)/healthz"))
            #expect(
                probe.status == 200 && probe.text.contains(#"{"name":"flush","status":"ok"}"#),
                "round \(round) (\(jump)): \(probe.text)")

            var landed: Set<String> = []
            while landed != Set(sent.segments), Date().timeIntervalSince(jumped) < 20 {
                try await Task.sleep(for: .milliseconds(500))
                let (_, readOut, _) = try await ChildProcess.run(
                    "/usr/bin/env", ["python3", reader, TestServices.awsEndpoint, "traces"] + sent.traces,
                    environment: TestServices.cleanEnvironment())
                let documents = (try? JSONSerialization.jsonObject(with: Data(readOut.utf8)) as? [[String: Any]]) ?? []
                landed = Set(documents.compactMap { $0["id"] as? String })
            }
            #expect(
                landed == Set(sent.segments),
                "round \(round) (\(jump)): every segment landed within seconds of the jump\n\(agent.stdout.suffix(3000))"
            )
        }
        #expect(agent.process.isRunning, "the agent runs on")
        #expect(
            await agent.waitForOutput(containing: #""msg":"flush""#, timeout: 15),
            "metrics are flushed on their 10 s interval after the jumps")
        kill(agent.process.processIdentifier, SIGTERM)
        #expect(await agent.wait(timeout: 30) == 0, "\(agent.stdout.suffix(2000))")
    }
}
