import Dispatch
import FoundationEssentials
import Logging
import ObsCore
import ObsNet

#if canImport(Glibc)
    import Glibc
#endif

/// One instance of a job, scraped over libcurl: asks for OpenMetrics or 0.0.4 (gzip accepted),
/// parses by the answer's Content-Type, records through its own ``ScrapeMapper``, and records its
/// own health (ScrapeUp, ScrapeDuration, ScrapeSamples).
///
/// Scraped by one task at a time.
final class ScrapeInstance: @unchecked Sendable {
    let url: String
    /// `host:port/path`, the Target dimension.
    let target: String
    let job: ScrapeJob
    let mapper: ScrapeMapper
    private let transport: any HTTPTransport
    private let logger: Logger
    private let onSecret: @Sendable (String) -> Void
    private var failing = false

    init(
        url: String, job: ScrapeJob, recorder: Recorder, transport: (any HTTPTransport)? = nil, logger: Logger,
        onSecret: @escaping @Sendable (String) -> Void
    ) {
        self.url = url
        self.job = job
        self.target = Self.target(of: url)
        self.mapper = ScrapeMapper(service: job.service, recorder: recorder)
        self.transport =
            transport
            ?? CurlTransport(
                connectTimeout: min(job.timeout, 5), totalTimeout: job.timeout, label: "scrape.\(job.service)",
                caFile: job.caFile,
                maxResponseBytes: job.maxResponseBytes)
        var logger = logger
        logger[metadataKey: "scrape.url"] = "\(CurlTransport.redactedURL(url))"
        self.logger = logger
        self.onSecret = onSecret
    }

    /// `host:port/path` of a URL: the URL without its scheme and query.
    static func target(of url: String) -> String {
        var rest = Substring(url)
        if let scheme = rest.firstRange(of: "://") { rest = rest[scheme.upperBound...] }
        return String(rest.prefix { $0 != "?" })
    }

    /// Why a scrape failed.
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// One scrape. Returns the mapper's result, or the failure (already logged and counted).
    @discardableResult
    func scrape() async -> Result<ScrapeMapper.Result, Failure> {
        let start = DispatchTime.now().uptimeNanoseconds
        let outcome: Result<ScrapeMapper.Result, Failure>
        do {
            let request = HTTPRequest(method: "GET", url: url, headers: try headers())
            let response: HTTPResponse
            do {
                response = try await transport.send(request)
            } catch {
                throw Failure(description: error.description)
            }
            guard response.status == 200 else { throw Failure(description: "HTTP \(response.status)") }
            do {
                outcome = .success(
                    try mapper.ingest(response.body, format: ExpositionFormat(contentType: response.contentType)))
            } catch {
                throw Failure(
                    description:
                        "unparsable body (\(ExpositionFormat(contentType: response.contentType).rawValue)): \(error)")
            }
        } catch let failure as Failure {
            outcome = .failure(failure)
        } catch {
            outcome = .failure(Failure(description: "\(error)"))
        }
        let milliseconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
        switch outcome {
        case .success(let result):
            mapper.recordScrape(target: target, up: true, milliseconds: milliseconds, samples: result.samples)
            mapper.recorder.health.report("prometheus \(job.service) \(target)", ok: true)
            if failing { logger.info("scrape recovered") }
            failing = false
        case .failure(let failure):
            mapper.recordScrape(target: target, up: false, milliseconds: milliseconds, samples: nil)
            mapper.recorder.selfMetrics.count(.scrapeFailed)
            mapper.recorder.health.report("prometheus \(job.service) \(target)", ok: false, reason: failure.description)
            if !failing {
                logger.warning("scrape failed", metadata: ["error": "\(failure)"])
            } else {
                logger.debug("scrape failed", metadata: ["error": "\(failure)"])
            }
            failing = true
        }
        return outcome
    }

    private func headers() throws -> [(name: String, value: String)] {
        var headers: [(name: String, value: String)] = [
            ("Accept", ExpositionFormat.acceptHeader), ("User-Agent", BuildInfo.userAgent),
        ]
        if let file = job.bearerTokenFile {
            let token = try Self.secret(file)
            onSecret(token)
            headers.append(("Authorization", "Bearer \(token)"))
        } else if let user = job.basicUsername {
            let password = try job.basicPasswordFile.map(Self.secret) ?? ""
            if !password.isEmpty { onSecret(password) }
            let encoded = Data("\(user):\(password)".utf8).base64EncodedString()
            onSecret(encoded)
            headers.append(("Authorization", "Basic \(encoded)"))
        }
        return headers
    }

    /// A secret file's content without its trailing newline.
    static func secret(_ path: String) throws -> String {
        do {
            return try String(contentsOfFile: path, encoding: .utf8).trimmingNewlines()
        } catch {
            throw Failure(description: "cannot read \(path)")
        }
    }
}
