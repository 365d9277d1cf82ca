import Synchronization

/// Several ``CurlTransport``s, each with its own connection and thread, for a sender whose workers
/// send at once: one `CurlTransport` sends one request at a time, so eight workers on one would
/// wait for each other. A request goes to an idle transport; when all are busy, to each in turn.
public final class CurlTransportPool: HTTPTransport {
    private let transports: [CurlTransport]
    private let idle: Mutex<[Int]>
    private let next = Atomic<UInt>(0)

    /// `count` transports (at least one), each made by `make`.
    public init(count: Int, make: () -> CurlTransport) {
        transports = (0..<max(1, count)).map { _ in make() }
        idle = Mutex(Array(transports.indices.reversed()))
    }

    public func send(_ request: HTTPRequest) async throws(TransportError) -> HTTPResponse {
        if let index = idle.withLock({ $0.popLast() }) {
            defer { idle.withLock { $0.append(index) } }
            return try await transports[index].send(request)
        }
        let turn = next.wrappingAdd(1, ordering: .relaxed).oldValue
        return try await transports[Int(turn % UInt(transports.count))].send(request)
    }
}
