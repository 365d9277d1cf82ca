import FoundationEssentials
import ObsCore

#if canImport(Glibc)
    import Glibc
#endif

/// AWS Signature Version 4: signs a request with credentials for one region and service, in the
/// header form (an `Authorization` header) or the query form (a presigned URL).
///
/// The intermediate steps (canonical request, string to sign) are public so that they can be
/// checked against the AWS test suites case by case.
public struct SigV4Signer: Sendable {
    package static let algorithm = "AWS4-HMAC-SHA256"

    /// Choices that differ between services and callers.
    public struct Options: Sendable {
        /// Remove `.` and `..` segments and repeated slashes from the path (every service but S3).
        package var normalizePath = true
        /// Add an `x-amz-content-sha256` header with the body's hash (header form).
        package var addContentHashHeader = false
        /// Add the session token after signing instead of signing it (a few services want this).
        package var omitSessionTokenFromSignature = false
        /// How long a presigned request stays valid, in seconds.
        package var expires = 3600

        package init() {}
    }

    package var credentials: AWSCredentials
    package var region: String
    package var service: String
    package var options: Options

    package init(credentials: AWSCredentials, region: String, service: String, options: Options = Options()) {
        self.credentials = credentials
        self.region = region
        self.service = service
        self.options = options
    }

    /// The intermediate results of signing one request, and the request as it is to be sent.
    public struct SigningSteps: Sendable {
        package var canonicalRequest: String
        package var stringToSign: String
        package var signature: String
        package var request: SignableRequest
    }

    // MARK: - Header form

    /// The request with `X-Amz-Date`, the token and content-hash headers as configured, and
    /// `Authorization`.
    package func signed(_ request: SignableRequest, at date: Date) -> SignableRequest {
        signHeaders(request, at: date).request
    }

    /// Signs in the header form and returns every step.
    package func signHeaders(_ request: SignableRequest, at date: Date) -> SigningSteps {
        var request = request
        request.setHeader("X-Amz-Date", Self.timestamp(date))
        if let token = credentials.sessionToken, !options.omitSessionTokenFromSignature {
            request.setHeader("X-Amz-Security-Token", token)
        }
        if options.addContentHashHeader {
            request.setHeader("x-amz-content-sha256", Self.hexSHA256(request.body))
        }
        let (canonical, signedHeaders) = canonicalRequestAndSignedHeaders(request)
        let toSign = stringToSign(canonicalRequest: canonical, at: date)
        let signature = self.signature(stringToSign: toSign, at: date)
        request.setHeader(
            "Authorization",
            "\(Self.algorithm) Credential=\(credentials.accessKeyID)/\(scope(date)), SignedHeaders=\(signedHeaders), Signature=\(signature)"
        )
        if let token = credentials.sessionToken, options.omitSessionTokenFromSignature {
            request.setHeader("X-Amz-Security-Token", token)
        }
        return SigningSteps(canonicalRequest: canonical, stringToSign: toSign, signature: signature, request: request)
    }

    // MARK: - Query form

    /// The request with the signature in its query (a presigned request).
    package func presigned(_ request: SignableRequest, at date: Date) -> SignableRequest {
        presign(request, at: date).request
    }

    /// Signs in the query form and returns every step.
    package func presign(_ request: SignableRequest, at date: Date) -> SigningSteps {
        var request = request
        let signedHeaders = canonicalHeaders(request).names
        let parameters: [(String, String)] = [
            ("X-Amz-Algorithm", Self.algorithm),
            ("X-Amz-Credential", "\(credentials.accessKeyID)/\(scope(date))"),
            ("X-Amz-Date", Self.timestamp(date)),
            ("X-Amz-SignedHeaders", signedHeaders),
            ("X-Amz-Expires", String(options.expires)),
        ]
        request.query.append(contentsOf: parameters.map { (name: $0.0, value: $0.1) })
        if let token = credentials.sessionToken, !options.omitSessionTokenFromSignature {
            request.query.append((name: "X-Amz-Security-Token", value: token))
        }
        let canonical = canonicalRequestAndSignedHeaders(request).canonical
        let toSign = stringToSign(canonicalRequest: canonical, at: date)
        let signature = self.signature(stringToSign: toSign, at: date)
        if let token = credentials.sessionToken, options.omitSessionTokenFromSignature {
            request.query.append((name: "X-Amz-Security-Token", value: token))
        }
        request.query.append((name: "X-Amz-Signature", value: signature))
        return SigningSteps(canonicalRequest: canonical, stringToSign: toSign, signature: signature, request: request)
    }

    // MARK: - Steps

    /// The canonical request of `request` as it stands (sign or presign it first to include the
    /// date and token).
    package func canonicalRequest(_ request: SignableRequest) -> String {
        canonicalRequestAndSignedHeaders(request).canonical
    }

    func canonicalRequestAndSignedHeaders(_ request: SignableRequest) -> (canonical: String, signedHeaders: String) {
        let headers = canonicalHeaders(request)
        let canonical = [
            request.method,
            canonicalPath(request.path),
            canonicalQuery(request.query),
            headers.block,
            headers.names,
            Self.hexSHA256(request.body),
        ].joined(separator: "\n")
        return (canonical, headers.names)
    }

    package func stringToSign(canonicalRequest: String, at date: Date) -> String {
        [Self.algorithm, Self.timestamp(date), scope(date), Self.hexSHA256(Array(canonicalRequest.utf8))]
            .joined(separator: "\n")
    }

    package func signature(stringToSign: String, at date: Date) -> String {
        let key = signingKey(at: date)
        return Self.hex(Digest.hmacSHA256(key: key, Array(stringToSign.utf8)))
    }

    /// `yyyyMMdd/region/service/aws4_request`.
    package func scope(_ date: Date) -> String {
        "\(Self.timestamp(date).prefix(8))/\(region)/\(service)/aws4_request"
    }

    func signingKey(at date: Date) -> [UInt8] {
        let day = String(Self.timestamp(date).prefix(8))
        var key = Array("AWS4\(credentials.secretAccessKey)".utf8)
        for part in [day, region, service, "aws4_request"] {
            key = Digest.hmacSHA256(key: key, Array(part.utf8))
        }
        return key
    }

    func canonicalPath(_ path: String) -> String {
        let raw = path.isEmpty ? "/" : path
        guard options.normalizePath else { return URIEncoding.encode(raw, keepSlash: true) }
        var segments: [Substring] = []
        for segment in raw.split(separator: "/", omittingEmptySubsequences: true) {
            switch segment {
            case ".": continue
            case "..": _ = segments.popLast()
            default: segments.append(segment)
            }
        }
        let trailingSlash = raw.hasSuffix("/") && !segments.isEmpty
        let joined = "/" + segments.joined(separator: "/") + (trailingSlash ? "/" : "")
        return URIEncoding.encode(joined, keepSlash: true)
    }

    func canonicalQuery(_ query: [(name: String, value: String)]) -> String {
        let encoded: [(name: String, value: String)] = query.map {
            (name: URIEncoding.encode($0.name), value: URIEncoding.encode($0.value))
        }
        let sorted = encoded.sorted { a, b in a.name == b.name ? a.value < b.value : a.name < b.name }
        return sorted.map { pair in pair.name + "=" + pair.value }.joined(separator: "&")
    }

    /// The canonical header block (each `name:value` line and a final newline) and the signed
    /// header names.
    func canonicalHeaders(_ request: SignableRequest) -> (block: String, names: String) {
        var merged: [String: [String]] = [:]
        for header in request.headers {
            merged[header.name.lowercased(), default: []].append(Self.trimmedHeaderValue(header.value))
        }
        let names = merged.keys.sorted()
        let block = names.map { "\($0):\(merged[$0]!.joined(separator: ","))\n" }.joined()
        return (block, names.joined(separator: ";"))
    }

    /// Leading and trailing space removed, runs of spaces (and folded lines) made one space.
    /// By Unicode scalars: "\r\n" is one Character, which a Character comparison with "\r" or
    /// "\n" would keep in the value.
    static func trimmedHeaderValue(_ value: String) -> String {
        value.unicodeScalars.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" })
            .map { String(String.UnicodeScalarView($0)) }.joined(separator: " ")
    }

    // MARK: - Helpers

    /// `yyyyMMdd'T'HHmmss'Z'` in UTC.
    package static func timestamp(_ date: Date) -> String {
        var t = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&t, &parts)
        return String(
            cFormat: "%04d%02d%02dT%02d%02d%02dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday),
            Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec))
    }

    package static func hexSHA256(_ bytes: [UInt8]) -> String {
        hex(Digest.sha256(bytes))
    }

    static func hex<D: Sequence>(_ bytes: D) -> String where D.Element == UInt8 {
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
