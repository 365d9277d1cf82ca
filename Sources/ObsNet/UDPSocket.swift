import CObsNet
import FoundationEssentials
import ObsCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A bound UDP socket read in batches with `recvmmsg`, with an enlarged receive buffer. Reads time
/// out every 100 ms so that the reading thread can notice it is asked to stop.
public final class UDPSocket: @unchecked Sendable {
    package let descriptor: Int32
    /// The port actually bound (useful with port 0).
    public let port: Int
    /// The receive buffer the kernel granted, in bytes.
    package let receiveBuffer: Int

    /// Datagrams read per `recvmmsg` call, and the buffer of each (the largest UDP payload).
    package static let batch = 64
    package static let datagramCapacity = 65_536
    /// Slots are this far apart: not a multiple of 4 KiB, so that the first bytes of the slots (where
    /// a typical datagram of a few hundred bytes lands) fall in different cache sets. At a stride of
    /// exactly 64 KiB, all 64 would compete for the same few sets of the L1 and L2 caches.
    static let slotStride = 65_536 + 17 * 64

    private let buffers: UnsafeMutableRawPointer
    private let lengths: UnsafeMutablePointer<Int>

    /// Binds `host:port` (IPv4 or IPv6 literal, or `localhost`), asking for `receiveBufferBytes`.
    package init(host: String, port: Int, receiveBufferBytes: Int) throws(SocketError) {
        let (fd, port) = try SocketAddress.bind(host: host, port: port, type: SOCK_DGRAM) { fd in
            let size = Int32(clamping: receiveBufferBytes)
            // SO_RCVBUFFORCE passes `net.core.rmem_max` where the agent may (CAP_NET_ADMIN, as a
            // host's root); elsewhere the kernel caps SO_RCVBUF at it.
            var forced = size
            if setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &forced, socklen_t(MemoryLayout<Int32>.size)) != 0 {
                SocketAddress.set(fd, SO_RCVBUF, size)
            }
            var timeout = timeval(tv_sec: 0, tv_usec: 100_000)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        }
        self.port = port
        var granted: Int32 = 0
        var grantedLength = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &granted, &grantedLength)
        receiveBuffer = Int(granted)
        descriptor = fd

        buffers = .allocate(byteCount: Self.batch * Self.slotStride, alignment: 64)
        lengths = .allocate(capacity: Self.batch)
    }

    deinit {
        close(descriptor)
        buffers.deallocate()
        lengths.deallocate()
    }

    /// Reads up to `batch` datagrams, waiting at most 100 ms for the first, and hands each to
    /// `body`. Returns how many were read.
    package func receive(_ body: (UnsafeRawBufferPointer) -> Void) -> Int {
        let count = lengths.withMemoryRebound(to: Int.self, capacity: Self.batch) {
            Int(
                obs_recv_batch(
                    descriptor, buffers, Int32(Self.batch), Self.slotStride, Self.datagramCapacity,
                    UnsafeMutableRawPointer($0).assumingMemoryBound(to: size_t.self)))
        }
        guard count > 0 else { return 0 }
        for i in 0..<count {
            body(UnsafeRawBufferPointer(start: buffers + i * Self.slotStride, count: lengths[i]))
        }
        return count
    }
}

/// Why a socket cannot be opened.
public enum SocketError: Error, Sendable, Equatable, CustomStringConvertible {
    case cannotBind(String)

    public var description: String {
        switch self {
        case .cannotBind(let reason): return "cannot listen on \(reason)"
        }
    }
}

extension UDPSocket {
    /// Reads datagrams on a thread of its own (named `threadName`) until the calling task is
    /// cancelled, handing each to `handle` on that thread; returns when the thread has ended.
    package func serve(threadName: String, handle: @escaping @Sendable (UnsafeRawBufferPointer) -> Void) async {
        let stopping = StopFlag()
        await OSThread.run(
            name: threadName,
            { [self] in
                while !stopping.isSet {
                    if stopping.wait(readable: descriptor) { _ = receive(handle) }
                }
            }, stop: stopping.set)
    }
}
