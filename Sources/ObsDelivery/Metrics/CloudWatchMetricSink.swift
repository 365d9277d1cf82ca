import FoundationEssentials
import Logging
import ObsAWS
import ObsCore
import ObsNet

#if canImport(Glibc)
    import Glibc
#endif

/// Delivers metric data to CloudWatch through the disk spool: each PutMetricData request is
/// encoded (every API limit enforced), gzip-compressed and written to the spool; a
/// ``SpoolShipper`` with a ``PutMetricDataSender`` sends it and removes it once CloudWatch
/// accepted it. A batch the spool cannot take is counted as dropped.
public struct CloudWatchMetricSink: MetricSink {
    public static let batchKind = "put-metric-data"
    public let name = "cloudwatch"
    package let encoder: PutMetricDataEncoder
    public let spool: DiskSpool
    /// Whether bodies are gzip-compressed (`Content-Encoding: gzip`).
    public let compress: Bool
    package let logger: Logger
    private let selfMetrics: SelfMetrics

    public init(spool: DiskSpool, compress: Bool = true, selfMetrics: SelfMetrics, logger: Logger) {
        self.encoder = PutMetricDataEncoder(selfMetrics: selfMetrics)
        self.spool = spool
        self.compress = compress
        self.selfMetrics = selfMetrics
        self.logger = logger
    }

    public func publish(_ data: [MetricDatum]) async {
        let created = Int64(Date().timeIntervalSince1970)
        for request in encoder.encode(data) {
            let batch = SpooledBatch(
                kind: Self.batchKind, created: created, items: request.datumCount,
                attributes: ["namespace": request.namespace, "encoding": compress ? "gzip" : "identity"],
                payload: compress ? Gzip.compress(request.bytes, level: Gzip.fastest) : request.bytes)
            spool.accept(batch, selfMetrics: selfMetrics, logger: logger)
        }
    }
}

/// Sends spooled PutMetricData bodies (gzip) to CloudWatch, signed.
public struct PutMetricDataSender: BatchSender {
    public let kind = CloudWatchMetricSink.batchKind
    package let client: AWSClient

    public init(client: AWSClient) {
        self.client = client
    }

    public func send(_ batch: SpooledBatch) async -> SendOutcome {
        var headers = [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")]
        if batch.attributes["encoding"] == "gzip" { headers.append(("Content-Encoding", "gzip")) }
        do {
            _ = try await client.send(headers: headers, body: batch.payload)
            return .delivered
        } catch {
            return error.outcome
        }
    }
}

extension AWSError {
    /// How a shipper should treat this error.
    package var outcome: SendOutcome {
        if isCredentialError {
            return .retry(
                reason: "credentials refused, keeping the data until they work: \(description)", afterTimeout: false)
        }
        if isRetryable {
            if case .transport(let transport) = self { return .retry(reason: transport.message, afterTimeout: true) }
            return .retry(reason: description, afterTimeout: false)
        }
        return .rejected(reason: description)
    }
}
