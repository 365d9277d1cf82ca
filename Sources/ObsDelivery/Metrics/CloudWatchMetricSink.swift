import Logging
import ObsAWS
import ObsCore

/// Sends metric data to CloudWatch with PutMetricData (query protocol, gzip-compressed, SigV4-signed,
/// over libcurl).
///
/// Retries: throttling, 5xx and transport failures are retried with capped exponential backoff and
/// full jitter, up to `maxAttempts`; other errors (validation, authentication) are not. A request
/// given up is counted (`batch_rejected` or `batch_retries_exhausted`) with its datums.
public struct CloudWatchMetricSink: MetricSink {
    public let name = "cloudwatch"
    public let client: AWSClient
    public let encoder: PutMetricDataEncoder
    public let selfMetrics: SelfMetrics
    public let logger: Logger
    public var maxAttempts = 4
    public var baseBackoff = 0.2
    public var maxBackoff = 5.0

    public init(client: AWSClient, selfMetrics: SelfMetrics, logger: Logger) {
        self.client = client
        self.encoder = PutMetricDataEncoder(selfMetrics: selfMetrics)
        self.selfMetrics = selfMetrics
        self.logger = logger
    }

    public func publish(_ data: [MetricDatum]) async {
        for request in encoder.encode(data) {
            await send(request)
        }
    }

    private func send(_ request: PutMetricDataRequest) async {
        let headers = [
            ("Content-Type", "application/x-www-form-urlencoded; charset=utf-8"), ("Content-Encoding", "gzip"),
        ]
        let body = Gzip.compress(request.bytes, level: Gzip.fastest)
        for attempt in 1...maxAttempts {
            do {
                _ = try await client.send(headers: headers, body: body)
                logger.debug(
                    "put metric data",
                    metadata: ["namespace": "\(request.namespace)", "datums": "\(request.datumCount)", "attempt": "\(attempt)"])
                return
            } catch {
                let retry = error.isRetryable && attempt < maxAttempts
                logger.warning(
                    "put metric data failed",
                    metadata: [
                        "namespace": "\(request.namespace)", "datums": "\(request.datumCount)", "error": "\(error)",
                        "attempt": "\(attempt)", "will_retry": "\(retry)",
                    ])
                if !retry {
                    selfMetrics.count(error.isRetryable ? .batchRetriesExhausted : .batchRejected, request.datumCount)
                    return
                }
                let cap = min(maxBackoff, baseBackoff * Double(1 << (attempt - 1)))
                try? await Task.sleep(for: .seconds(Double.random(in: 0...cap)))
            }
        }
    }
}
