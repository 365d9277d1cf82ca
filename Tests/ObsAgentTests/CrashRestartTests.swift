import Foundation
import Testing

/// SIGKILL at random moments, again and again: every restart is clean, the spool is never
/// corrupt, and everything spooled is delivered, at most one in-flight batch twice per kill.
@Suite(
    .enabled(
        if: TestServices.hasPostgres && TestServices.hasAWS && TestServices.hasBinary,
        "needs scripts/test: PostgreSQL, moto_server and the built obs-agent"),
    .serialized)
struct CrashRestartTests {
    @Test func sigkillAtRandomMomentsLosesNothingAccepted() async throws {
        let proxy = try await FaultProxy(target: TestServices.awsEndpoint)
        let config = try TestServices.writeTemporary(
            DeliveryFaultTests.config(instance: "sigkill-\(UUID().uuidString.prefix(8))", flushInterval: 1))
        let spool = TestServices.temporaryDirectory("spool")
        var generator = SystemRandomNumberGenerator()
        var spooled: [Int] = []
        let kills = 8
        for round in 0..<kills {
            let agent = try DeliveryFaultTests.startAgent(config: config, spool: spool, endpoint: proxy.url)
            #expect(
                await agent.waitForOutput(containing: "postgres sampled", timeout: 20), "round \(round): a clean start")
            // Sometimes during the outage of a slow endpoint, sometimes while it answers.
            try await proxy.set(round % 3 == 1 ? "hang" : "ok")
            try await Task.sleep(for: .milliseconds(Int.random(in: 300...2500, using: &generator)))
            kill(agent.process.processIdentifier, SIGKILL)
            _ = await agent.wait(timeout: 10)
            spooled += agent.spooledDatums
            #expect(!agent.stdout.contains("spool_corrupt"), "round \(round)")
        }
        // The last start runs until the backlog of every round is sent (its workers retry what a
        // slow endpoint times out), then is stopped; its shutdown sends its last flush.
        try await proxy.set("ok")
        let last = try DeliveryFaultTests.startAgent(config: config, spool: spool, endpoint: proxy.url)
        try await DeliveryFaultTests.waitUntilSpoolEmpty(spool)
        kill(last.process.processIdentifier, SIGTERM)
        #expect(await last.wait(timeout: 60) == 0)
        spooled += last.spooledDatums

        let stats = try await proxy.stats()
        let files = (try? FileManager.default.contentsOfDirectory(atPath: spool)) ?? []
        #expect(
            files.filter { $0.hasSuffix(".batch") || $0.hasSuffix(".tmp") }.isEmpty,
            "everything sent: \(files)\n\(last.stdout.suffix(4000))")
        #expect(!files.contains("corrupt"), "no batch file was ever corrupt")
        #expect(stats.forwardedDatums >= spooled.reduce(0, +), "nothing spooled was lost")
        #expect(stats.duplicates <= kills, "at most the in-flight batch of each kill twice: \(stats.duplicates)")
        #expect(!stats.datums.keys.contains { $0.hasPrefix("Obs/Agent|Dropped|") })
        await proxy.stop()
        try? FileManager.default.removeItem(atPath: spool)
    }
}
