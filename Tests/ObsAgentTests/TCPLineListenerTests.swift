import Foundation
import Synchronization
import Testing

@testable import ObsNet

/// The TCP line listener the EMF source reads with: a last line without its newline, a line over
/// the bound, and connections past the limit.
@Suite struct TCPLineListenerTests {
    final class Lines: Sendable {
        let lines = Mutex([String]())
        let tooLong = Atomic<Int>(0)
        var all: [String] { lines.withLock { $0 } }
    }

    static func connect(_ port: Int) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let status = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        #expect(status == 0)
        return fd
    }

    static func send(_ fd: Int32, _ text: String) {
        let bytes = Array(text.utf8)
        #expect(bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, 0) } == bytes.count)
    }

    static func waitUntil(_ condition: () -> Bool) async throws {
        let deadline = Date().addingTimeInterval(20)
        while !condition(), Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
    }

    @Test func linesOverTheBoundAndALastLineWithoutNewline() async throws {
        let listener = try TCPLineListener(host: "127.0.0.1", port: 0, maxLineBytes: 16)
        let seen = Lines()
        let task = Task {
            await listener.serve(
                threadName: "test.tcp",
                line: { bytes in seen.lines.withLock { $0.append(String(decoding: bytes, as: UTF8.self)) } },
                tooLong: { seen.tooLong.add(1, ordering: .relaxed) })
        }
        let fd = Self.connect(listener.port)
        Self.send(fd, "first\r\n" + String(repeating: "x", count: 10))
        try await Task.sleep(for: .milliseconds(50))
        Self.send(fd, String(repeating: "y", count: 10) + "\nshort\nlast")
        close(fd)
        try await Self.waitUntil { seen.all.count >= 3 }
        task.cancel()
        await task.value
        #expect(seen.all == ["first", "short", "last"], "a line of 20 bytes split across writes is over 16: skipped")
        #expect(seen.tooLong.load(ordering: .relaxed) == 1)
    }

    @Test func aConnectionPastTheLimitIsClosedAtOnce() async throws {
        let listener = try TCPLineListener(host: "127.0.0.1", port: 0, maxLineBytes: 1024, maxConnections: 1)
        let seen = Lines()
        let task = Task {
            await listener.serve(
                threadName: "test.tcp",
                line: { bytes in seen.lines.withLock { $0.append(String(decoding: bytes, as: UTF8.self)) } },
                tooLong: {})
        }
        let first = Self.connect(listener.port)
        Self.send(first, "one\n")
        try await Self.waitUntil { seen.all.count == 1 }
        let second = Self.connect(listener.port)
        var byte: UInt8 = 0
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(second, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        #expect(recv(second, &byte, 1, 0) == 0, "the listener closed the second connection")
        Self.send(first, "two\n")
        try await Self.waitUntil { seen.all.count == 2 }
        close(first)
        close(second)
        task.cancel()
        await task.value
        #expect(seen.all == ["one", "two"])
    }
}
