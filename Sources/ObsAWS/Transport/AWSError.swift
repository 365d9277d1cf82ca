import FoundationEssentials
import ObsNet

#if canImport(Glibc)
    import Glibc
#endif

/// Why an AWS call failed, with what is needed to decide on a retry.
public enum AWSError: Error, Sendable, CustomStringConvertible {
    /// No HTTP answer.
    case transport(TransportError)
    /// The service answered with an error.
    case service(status: Int, code: String, message: String)
    /// No credentials could be had (the chain's provider failed).
    case credentials(CredentialError)

    /// Error codes the AWS SDKs treat as throttling (standard retry mode).
    package static let throttlingCodes: Set<String> = [
        "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
        "TooManyRequestsException", "ProvisionedThroughputExceededException", "TransactionInProgressException",
        "RequestLimitExceeded", "BandwidthLimitExceeded", "LimitExceededException", "RequestThrottled",
        "SlowDown", "PriorRequestNotComplete", "EC2ThrottledException",
    ]

    /// Error codes of credentials the service refused (wrong secret, expired or unknown key).
    package static let credentialCodes: Set<String> = [
        "InvalidClientTokenId", "SignatureDoesNotMatch", "UnrecognizedClientException", "ExpiredToken",
        "ExpiredTokenException", "InvalidSignatureException", "IncompleteSignature", "MissingAuthenticationToken",
        "AuthFailure", "RequestExpired",
    ]

    /// Whether the same request may succeed later: throttling, 5xx and transport failures.
    package var isRetryable: Bool {
        switch self {
        case .transport(let error): return error.isRetryable
        case .service(let status, let code, _):
            return status >= 500 || status == 429 || Self.throttlingCodes.contains(code)
        case .credentials: return true
        }
    }

    /// Whether the service refused the credentials: the data is fine and must be kept until the
    /// credentials are (rotated, or the configuration fixed).
    package var isCredentialError: Bool {
        switch self {
        case .service(_, let code, _): return Self.credentialCodes.contains(code)
        case .credentials: return true
        case .transport: return false
        }
    }

    public var description: String {
        switch self {
        case .transport(let error): return error.description
        case .service(let status, let code, let message):
            return "HTTP \(status) \(code): \(message)"
        case .credentials(let error): return error.description
        }
    }

    /// Reads the error code and message from an XML (query protocol) or JSON error body.
    static func fromResponse(_ response: HTTPResponse) -> AWSError {
        let text = response.text
        var code =
            element("Code", in: text) ?? jsonField("__type", in: text) ?? jsonField("code", in: text) ?? "Unknown"
        if let hash = code.lastIndex(of: "#") { code = String(code[code.index(after: hash)...]) }
        let message =
            element("Message", in: text) ?? jsonField("message", in: text) ?? jsonField("Message", in: text) ?? ""
        return .service(status: response.status, code: code, message: String(message.prefix(300)))
    }

    static func element(_ name: String, in text: String) -> String? {
        guard let open = text.firstRange(of: "<\(name)>"),
            let close = text[open.upperBound...].firstRange(of: "</\(name)>")
        else { return nil }
        return String(text[open.upperBound..<close.lowerBound])
    }

    static func jsonField(_ name: String, in text: String) -> String? {
        guard let key = text.firstRange(of: "\"\(name)\"") else { return nil }
        let rest = text[key.upperBound...].drop { $0 == " " || $0 == ":" }
        guard rest.first == "\"" else { return nil }
        let value = rest.dropFirst().prefix { $0 != "\"" }
        return String(value)
    }
}
