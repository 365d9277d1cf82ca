import Foundation
import Logging
import ObsCore
import Synchronization
import Testing

@testable import ObsXRay

/// The receiver on both address families, fed by a plain UDP socket.
@Suite struct XRaySourceTests {
    static let datagram = Array(
        "{\"format\":\"json\",\"version\":1}\n{\"id\":\"70de5b6f19ff9a0b\",\"name\":\"svc\",\"trace_id\":\"1-581cf771-a006649127e371903a2de979\",\"start_time\":1.0,\"end_time\":2.0}"
            .utf8)

    /// Sends `datagram` to host:port with a socket of `family`.
    static func send(_ datagram: [UInt8], host: String, port: Int, family: Int32) {
        var hints = addrinfo()
        hints.ai_family = family
        hints.ai_socktype = Int32(SOCK_DGRAM.rawValue)
        var info: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &info) == 0, let address = info else { return }
        defer { freeaddrinfo(info) }
        let fd = socket(address.pointee.ai_family, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd) }
        _ = datagram.withUnsafeBytes {
            sendto(fd, $0.baseAddress, $0.count, 0, address.pointee.ai_addr, address.pointee.ai_addrlen)
        }
    }

    @Test(arguments: [("127.0.0.1", AF_INET), ("::1", AF_INET6)])
    func segmentsArriveOverIPv4AndIPv6(_ host: String, _ family: Int32) async throws {
        let delivered = Mutex([String]())
        let recorder = Recorder()
        let source = try XRaySource(
            settings: .init(host: host, port: 0, batchDelay: 0.05), recorder: recorder, logger: Logger(label: "test")
        ) { documents in delivered.withLock { $0 += documents } }
        let task = Task { await source.run() }
        try await Task.sleep(for: .milliseconds(100))
        Self.send(Self.datagram, host: host, port: source.port, family: family)
        Self.send(Array("not a datagram".utf8), host: host, port: source.port, family: family)
        let deadline = ContinuousClock.now + .seconds(20)
        while delivered.withLock({ $0.isEmpty }) || recorder.selfMetrics[.datagramNoHeader] == 0,
            ContinuousClock.now < deadline
        {
            try await Task.sleep(for: .milliseconds(20))
        }
        task.cancel()
        await task.value
        #expect(delivered.withLock { $0.count } == 1)
        #expect(delivered.withLock { $0.first?.contains("70de5b6f19ff9a0b") } == true)
        #expect(recorder.selfMetrics[.datagramNoHeader] == 1)
        #expect(source.receivedCount == 1)
    }

    @Test func aBusyPortIsAClearError() throws {
        let first = try XRaySource(
            settings: .init(host: "127.0.0.1", port: 0), recorder: Recorder(), logger: Logger(label: "t")
        ) { _ in }
        #expect(throws: XRaySourceError.self) {
            try XRaySource(
                settings: .init(host: "127.0.0.1", port: first.port), recorder: Recorder(), logger: Logger(label: "t")
            ) { _ in }
        }
    }
}
