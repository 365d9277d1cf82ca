import Foundation
import ObsCore
import ObsNet
import Synchronization
import Testing

/// Three agents splitting 30 scrape targets (`agent.shard: I/3`, as the StatefulSet's replicas
/// do): every target is scraped by exactly one of them, and each by the one the hash names.
@Suite(.enabled(if: TestServices.hasBinary, "needs the built obs-agent"), .serialized)
struct ShardingTests {
    @Test func threeReplicasScrapeEveryTargetExactlyOnce() async throws {
        let hits = Mutex<[String: Int]>([:])
        let server = try LoopbackHTTPServer(host: "127.0.0.1", port: 0) { request in
            hits.withLock { $0[request.target, default: 0] += 1 }
            return HTTPServerResponse(
                status: 200, contentType: "text/plain; version=0.0.4",
                text: "# TYPE hikaricp_connections_active gauge\nhikaricp_connections_active{pool=\"p\"} 1\n")
        }
        let serving = Task { await server.run() }
        defer { serving.cancel() }
        let urls = (0..<30).map { "http://127.0.0.1:\(server.port)/t\($0)" }
        var owner: [String: Int] = [:]
        for index in 0..<3 {
            hits.withLock { $0.removeAll() }
            let config = try TestServices.writeTemporary(
                """
                agent:
                  flush_interval: 60s
                  health_address: off
                  shard: obs-agent-sharded-\(index)/3
                sources:
                  prometheus:
                    - service: sharded
                      urls: [\(urls.joined(separator: ", "))]
                      interval: 60s
                """)
            defer { try? FileManager.default.removeItem(atPath: config) }
            let (status, out, err) = try await ChildProcess.run(
                TestServices.agentPath, ["--config", config, "--for", "1s", "--dry-run"],
                environment: TestServices.cleanEnvironment())
            #expect(status == 0, "\(err)")
            #expect(out.contains("\"shard\":\"\(index)/3\""), "the start line names the shard")
            for (path, count) in hits.withLock({ $0 }) {
                #expect(owner[path] == nil, "\(path) scraped by replicas \(owner[path] ?? -1) and \(index)")
                owner[path] = index
                #expect(count >= 2, "\(path): the start scrape and the last one")
            }
        }
        #expect(owner.count == 30, "every target scraped: \(owner.keys.sorted())")
        for (n, url) in urls.enumerated() {
            #expect(owner["/t\(n)"] == Shard.owner(of: "sharded \(url)", among: 3), "\(url) by the hash's replica")
        }
        let shares = (0..<3).map { index in owner.values.filter { $0 == index }.count }
        #expect(shares.allSatisfy { $0 >= 4 }, "each replica takes a share: \(shares)")
    }

    @Test func aShardThatIsNotOneIsRefused() async throws {
        let config = try TestServices.writeTemporary("agent:\n  shard: 3/3\nsources:\n  statsd: {}\n")
        defer { try? FileManager.default.removeItem(atPath: config) }
        let (status, _, err) = try await ChildProcess.run(
            TestServices.agentPath, ["--config", config, "--once", "--dry-run"],
            environment: TestServices.cleanEnvironment())
        #expect(status == 2)
        #expect(err.contains("agent.shard: expected INDEX/COUNT"), "\(err)")
    }
}
