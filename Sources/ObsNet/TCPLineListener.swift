import ObsCore

#if canImport(Glibc)
    import Glibc
#endif

/// A TCP listener for newline-delimited text (EMF events over TCP, as the CloudWatch agent takes
/// them): one thread polls the listening socket and every connection, and hands each whole line to
/// the caller. A line longer than `maxLineBytes` is skipped to its end and reported; past
/// `maxConnections` a new connection is closed at once.
public final class TCPLineListener: @unchecked Sendable {
    /// The port bound (the configured one, or the kernel's choice for port 0).
    public let port: Int
    package let maxLineBytes: Int
    package let maxConnections: Int
    private let descriptor: Int32

    package init(host: String, port: Int, maxLineBytes: Int, maxConnections: Int = 64) throws(SocketError) {
        let (fd, port) = try SocketAddress.bind(host: host, port: port, type: SOCK_STREAM, backlog: 128) { fd in
            SocketAddress.set(fd, SO_REUSEADDR, 1)
        }
        self.port = port
        self.descriptor = fd
        self.maxLineBytes = maxLineBytes
        self.maxConnections = maxConnections
    }

    deinit {
        close(descriptor)
    }

    /// One connection's unfinished line.
    private struct Connection {
        var fd: Int32
        var pending: [UInt8] = []
        /// Skipping the rest of a line that was too long.
        var skipping = false
    }

    /// Accepts and reads on a thread of its own until the calling task is cancelled: each line
    /// (without its newline, and without a CR before it) to `line`, each line over the bound to
    /// `tooLong`. Returns once the thread has closed every connection.
    package func serve(
        threadName: String, line: @escaping @Sendable (UnsafeRawBufferPointer) -> Void,
        tooLong: @escaping @Sendable () -> Void
    ) async {
        let stopping = StopFlag()
        let loop: @Sendable () -> Void = { [self] in
            var connections: [Connection] = []
            var buffer = [UInt8](repeating: 0, count: 64 << 10)
            while !stopping.isSet {
                var polled =
                    [pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)]
                    + connections.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
                    + [pollfd(fd: stopping.descriptor, events: Int16(POLLIN), revents: 0)]
                guard poll(&polled, nfds_t(polled.count), -1) > 0, !stopping.isSet else { continue }
                polled.removeLast()
                if polled[0].revents & Int16(POLLIN) != 0 {
                    let fd = accept(descriptor, nil, nil)
                    if fd >= 0 {
                        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
                        if connections.count < maxConnections {
                            connections.append(Connection(fd: fd))
                        } else {
                            close(fd)
                        }
                    }
                }
                var closed: [Int] = []
                for (k, state) in polled.dropFirst().enumerated() where state.revents != 0 {
                    let n = buffer.withUnsafeMutableBytes { read(connections[k].fd, $0.baseAddress, $0.count) }
                    if n <= 0 {
                        if !connections[k].pending.isEmpty, !connections[k].skipping {
                            connections[k].pending.withUnsafeBytes { line($0) }
                        }
                        close(connections[k].fd)
                        closed.append(k)
                        continue
                    }
                    buffer.withUnsafeBytes { chunk in
                        split(
                            UnsafeRawBufferPointer(rebasing: chunk[0..<n]), into: &connections[k], line: line,
                            tooLong: tooLong)
                    }
                }
                for k in closed.reversed() { connections.remove(at: k) }
            }
            for connection in connections { close(connection.fd) }
        }
        await OSThread.run(name: threadName, loop, stop: stopping.set)
    }

    /// Hands on the whole lines of `chunk`, keeping the unfinished rest in `connection`.
    private func split(
        _ chunk: UnsafeRawBufferPointer, into connection: inout Connection, line: (UnsafeRawBufferPointer) -> Void,
        tooLong: () -> Void
    ) {
        var start = 0
        while start < chunk.count {
            guard let newline = chunk.firstIndex(ofByte: 0x0A, from: start) else {
                if !connection.skipping {
                    connection.pending.append(contentsOf: chunk[start...])
                    if connection.pending.count > maxLineBytes {
                        connection.pending.removeAll()
                        connection.skipping = true
                        tooLong()
                    }
                }
                return
            }
            if connection.skipping {
                connection.skipping = false
            } else if connection.pending.isEmpty {
                var end = newline
                if end > start, chunk[end - 1] == 0x0D { end -= 1 }
                if end - start > maxLineBytes {
                    tooLong()
                } else if end > start {
                    line(UnsafeRawBufferPointer(rebasing: chunk[start..<end]))
                }
            } else {
                connection.pending.append(contentsOf: chunk[start..<newline])
                if connection.pending.last == 0x0D { connection.pending.removeLast() }
                if connection.pending.count > maxLineBytes {
                    tooLong()
                } else {
                    connection.pending.withUnsafeBytes { line($0) }
                }
                connection.pending.removeAll(keepingCapacity: true)
            }
            start = newline + 1
        }
    }
}
