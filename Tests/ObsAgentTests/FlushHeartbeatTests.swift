import Foundation
import Logging
import ObsCore
import ObsNet
import Testing

@testable import ObsAgent

/// The flush loop's heartbeat, which `/healthz` and the systemd watchdog read.
struct FlushHeartbeatTests {
    @Test func aNewHeartbeatIsNotStuckBeforeTheLoopFirstRuns() {
        let heartbeat = FlushHeartbeat(now: 1000)
        #expect(heartbeat.secondsSinceLastBeat(now: 1000) == 0)
        #expect(heartbeat.secondsSinceLastBeat(now: 1005) == 5)
        // The health endpoint of an agent whose flush loop has not started yet.
        let service = HealthService(
            host: "127.0.0.1", port: 0, recorder: Recorder(), shippers: [], heartbeat: FlushHeartbeat(), stuckAfter: 60,
            logger: Logger(label: "test"))
        let response = service.health()
        #expect(response.status == 200)
        #expect(String(decoding: response.body, as: UTF8.self).contains(#"{"name":"flush","status":"ok"}"#))
    }

    @Test func secondsCountFromTheLastBeat() {
        let heartbeat = FlushHeartbeat(now: 0)
        heartbeat.beat(now: 100)
        #expect(heartbeat.secondsSinceLastBeat(now: 100) == 0)
        #expect(heartbeat.secondsSinceLastBeat(now: 161.5) == 61.5)
        heartbeat.beat(now: 170)
        #expect(heartbeat.secondsSinceLastBeat(now: 171) == 1)
    }

    @Test func aStuckLoopIsFailingWithItsAge() {
        let heartbeat = FlushHeartbeat(now: Monotonic.seconds() - 200)
        let service = HealthService(
            host: "127.0.0.1", port: 0, recorder: Recorder(), shippers: [], heartbeat: heartbeat, stuckAfter: 60,
            logger: Logger(label: "test"))
        let response = service.health()
        #expect(response.status == 503)
        let text = String(decoding: response.body, as: UTF8.self)
        #expect(text.contains(#""status":"failing""#) && text.contains("no flush for 200 s"), "\(text)")
    }
}
