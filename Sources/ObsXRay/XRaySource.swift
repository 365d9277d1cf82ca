import FoundationEssentials
import Logging
import ObsCore
import ObsNet
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A drop-in for the X-Ray daemon's UDP side: reads segment documents that SDKs send (default
/// 127.0.0.1:2000), validates each, derives API metrics from the segments of services that served
/// HTTP requests, and hands the documents on in batches of at most 50, at the latest one second
/// after the first of a batch arrived.
///
/// Invalid datagrams are dropped and counted by reason; a log line says so at most once a second.
/// The socket is read on a thread of its own with `recvmmsg`; nothing on that path waits for delivery.
public final class XRaySource: @unchecked Sendable {
    /// Where to listen and how to batch.
    public struct Settings: Sendable {
        public var host: String
        public var port: Int
        /// The socket's receive buffer (the kernel may grant less: see `net.core.rmem_max`).
        package var receiveBufferBytes: Int
        package var batchSize: Int
        /// The longest a segment waits for its batch to fill, in seconds.
        package var batchDelay: Double
        /// Whether API metrics are derived from the segments. Segments exist only for sampled
        /// requests, so a service whose actuator endpoint is scraped should take them from there.
        package var apiMetrics = true

        public init(
            host: String = "127.0.0.1", port: Int = 2000, receiveBufferBytes: Int = 8 << 20, batchSize: Int = 50,
            batchDelay: Double = 1
        ) {
            self.host = host
            self.port = port
            self.receiveBufferBytes = receiveBufferBytes
            self.batchSize = batchSize
            self.batchDelay = batchDelay
        }

        /// `host:port`, `[v6]:port` or `:port`, as `AWS_XRAY_DAEMON_ADDRESS` is written.
        package static func parseAddress(_ text: String) -> (host: String, port: Int)? {
            SocketAddress.parse(text)
        }
    }

    package let settings: Settings
    private let socket: UDPSocket
    private let metrics: SegmentMetrics
    private let selfMetrics: SelfMetrics
    private let logger: Logger
    private let deliver: @Sendable ([String]) -> Void
    let flushDelivery: @Sendable () -> Void
    /// The batch being gathered, and when (monotonic seconds) its first segment came.
    private let pending = Mutex<(documents: [String], since: Double?)>(([], nil))
    private let received = Atomic<Int>(0)
    private let stopping = StopFlag()
    // Touched only by the reading thread.
    private var lastWarning = -Double.infinity
    private var dropsSinceWarning = 0

    /// The port bound (the configured one, or the one the kernel chose for port 0).
    public var port: Int { socket.port }
    /// Valid segments received so far.
    package var receivedCount: Int { received.load(ordering: .relaxed) }

    /// Binds the socket (so a busy port is reported at start). `deliver` gets each batch of
    /// documents; it must not block for long. `flushDelivery` waits until what `deliver` took is
    /// handed on (into the spool), at shutdown.
    public init(
        settings: Settings, recorder: Recorder, logger: Logger, flushDelivery: @escaping @Sendable () -> Void = {},
        deliver: @escaping @Sendable ([String]) -> Void
    ) throws(XRaySourceError) {
        self.settings = settings
        do {
            self.socket = try Self.bind(settings)
        } catch {
            switch error {
            case .cannotBind(let reason): throw .cannotBind(reason)
            }
        }
        self.metrics = SegmentMetrics(recorder: recorder)
        self.selfMetrics = recorder.selfMetrics
        var logger = logger
        logger[metadataKey: "source"] = "xray"
        self.logger = logger
        self.deliver = deliver
        self.flushDelivery = flushDelivery
    }

    /// The UDP socket. Port 0 takes a port the kernel chooses that is also free for TCP: the
    /// sampling proxy listens on the same number, as the daemon does, and a port free for UDP may be
    /// held on TCP by any outgoing connection.
    private static func bind(_ settings: Settings) throws(SocketError) -> UDPSocket {
        var attempt = 0
        while true {
            let socket = try UDPSocket(
                host: settings.host, port: settings.port, receiveBufferBytes: settings.receiveBufferBytes)
            attempt += 1
            guard settings.port == 0, attempt < 32 else { return socket }
            if let (probe, _) = try? SocketAddress.bind(
                host: settings.host, port: socket.port, type: SOCK_STREAM,
                configure: { SocketAddress.set($0, SO_REUSEADDR, 1) })
            {
                close(probe)
                return socket
            }
        }
    }

    /// Reads until `stop()`; then hands on what is still batched. Blocks: run it on its own thread.
    public func runBlocking() {
        logger.info(
            "xray listening",
            metadata: ["address": "\(settings.host):\(port)", "receive_buffer": "\(socket.receiveBuffer)"])
        // Datagrams that arrive while the thread naps wait in the socket's buffer and are read in
        // one call: on a virtual machine a wake-up costs more than reading a datagram, and the SDKs
        // send one datagram a segment. The nap is taken only while traffic flows (an idle socket is
        // waited on in the kernel), and is as long as a quarter of the buffer takes to fill at
        // 2 GB/s (a million datagrams a second, each taking 2 KiB of buffer), at most 2 ms.
        // Once the socket is empty the thread waits in `poll` until a datagram comes, the partial
        // batch is due or the source is stopped: an idle source takes no wake-up.
        var nap = Self.nap(receiveBuffer: socket.receiveBuffer)
        var read = 0
        while !stopping.isSet {
            if read == 0 {
                let due = pending.withLock { $0.since }.map { $0 + settings.batchDelay - Monotonic.seconds() }
                let wait = due.map { Int32(max(1, ($0 * 1000).rounded(.up))) } ?? -1
                _ = stopping.wait(readable: socket.descriptor, milliseconds: wait)
                if stopping.isSet { break }
            }
            read = socket.receive { datagram in handle(datagram) }
            flushIfDue(now: Monotonic.seconds())
            if nap.tv_nsec > 0, read > 0, read < UDPSocket.batch { nanosleep(&nap, nil) }
        }
        flush()
    }

    /// How long the reading thread waits after it has emptied the socket's buffer while traffic
    /// flows: none below 100 µs (as with the kernel's default buffer), 1 ms with an 8 MiB buffer,
    /// 2 ms from 16 MiB.
    static func nap(receiveBuffer: Int) -> timespec {
        let nanoseconds = min(2_000_000, receiveBuffer / 4 / 2)  // bytes ÷ 2 bytes a nanosecond
        return timespec(tv_sec: 0, tv_nsec: nanoseconds >= 100_000 ? nanoseconds : 0)
    }

    /// Runs the reading thread until the task is cancelled, then flushes.
    public func run() async {
        await OSThread.run(name: "obs.xray", { self.runBlocking() }, stop: { self.stop() })
    }

    public func stop() {
        stopping.set()
    }

    private func handle(_ datagram: UnsafeRawBufferPointer) {
        switch SegmentDatagram.scan(datagram) {
        case .success(let (body, fields, isSubsegment)):
            received.add(1, ordering: .relaxed)
            if settings.apiMetrics { metrics.record(fields, isSubsegment: isSubsegment, document: body) }
            let document = String(decoding: body, as: UTF8.self)
            let full: [String]? = pending.withLock { pending in
                pending.documents.append(document)
                if pending.since == nil { pending.since = Monotonic.seconds() }
                guard pending.documents.count >= settings.batchSize else { return nil }
                defer { pending = ([], nil) }
                return pending.documents
            }
            if let full { deliver(full) }
        case .failure(let rejection):
            let reason = rejection.reason
            selfMetrics.count(reason)
            dropsSinceWarning += 1
            let now = Monotonic.seconds()
            if now - lastWarning >= 1 {
                logger.warning(
                    "invalid datagrams dropped",
                    metadata: ["last.reason": "\(reason.rawValue)", "dropped": "\(dropsSinceWarning)"])
                lastWarning = now
                dropsSinceWarning = 0
            }
        }
    }

    private func flushIfDue(now: Double) {
        let due: [String]? = pending.withLock { pending in
            guard let since = pending.since, now - since >= settings.batchDelay else { return nil }
            defer { pending = ([], nil) }
            return pending.documents
        }
        if let due, !due.isEmpty { deliver(due) }
    }

    private func flush() {
        let rest = pending.withLock { pending in
            defer { pending = ([], nil) }
            return pending.documents
        }
        if !rest.isEmpty { deliver(rest) }
    }
}
