import Foundation
import Testing

@testable import ObsAWS

/// The AWS SigV4 test suites (aws-c-auth's and botocore's copies; Apache-2.0, see
/// Fixtures/sigv4/SOURCES.md): every case's canonical request, string to sign and signature.
@Suite struct SigV4SuiteTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
        "Fixtures/sigv4")
    static let date = Date(timeIntervalSince1970: 1_440_938_160)  // 2015-08-30T12:36:00Z

    static func cases(_ suite: String) -> [String] {
        let root = fixtures.appendingPathComponent(suite)
        let enumerator = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil)!
        var found: [String] = []
        for case let url as URL in enumerator {
            let marker =
                suite == "aws-c-auth" ? "context.json" : url.deletingLastPathComponent().lastPathComponent + ".req"
            if url.lastPathComponent == marker {
                found.append(String(url.deletingLastPathComponent().path.dropFirst(root.path.count + 1)))
            }
        }
        return found.sorted()
    }

    static func read(_ url: URL) throws -> String {
        try String(contentsOf: url, encoding: .utf8)
    }

    /// Parses a raw HTTP request as the suites write them: folded header lines continue the value.
    static func parseRequest(_ text: String) -> SignableRequest {
        let (head, body): (Substring, Substring) = {
            if let range = text.range(of: "\n\n") { return (text[..<range.lowerBound], text[range.upperBound...]) }
            return (text[...], "")
        }()
        var lines = head.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let requestLine = lines.removeFirst()
        let method = String(requestLine.prefix { $0 != " " })
        var target = requestLine.dropFirst(method.count + 1)
        if let http = target.range(of: " HTTP/", options: .backwards) { target = target[..<http.lowerBound] }
        let path: Substring
        var query: [(String, String)] = []
        if let q = target.firstIndex(of: "?") {
            path = target[..<q]
            query = SignableRequest.parseQuery(target[target.index(after: q)...])
        } else {
            path = target
        }
        var headers: [(String, String)] = []
        for line in lines where !line.isEmpty {
            if line.first == " " || line.first == "\t", !headers.isEmpty {
                headers[headers.count - 1].1 += " " + line.trimmingCharacters(in: .whitespaces)
            } else if let colon = line.firstIndex(of: ":") {
                headers.append((String(line[..<colon]), String(line[line.index(after: colon)...])))
            }
        }
        return SignableRequest(
            method: method, path: String(path), query: query, headers: headers, body: Array(body.utf8))
    }

    struct Context: Decodable {
        struct Credentials: Decodable {
            var access_key_id: String
            var secret_access_key: String
            var token: String?
        }
        var credentials: Credentials
        var normalize: Bool
        var region: String
        var service: String
        var sign_body: Bool
        var omit_session_token: Bool?
        var expiration_in_seconds: Int
    }

    @Test(arguments: cases("aws-c-auth"))
    func awsCAuthCase(_ name: String) throws {
        let dir = Self.fixtures.appendingPathComponent("aws-c-auth").appendingPathComponent(name)
        let context = try JSONDecoder().decode(
            Context.self, from: Data(contentsOf: dir.appendingPathComponent("context.json")))
        var options = SigV4Signer.Options()
        options.normalizePath = context.normalize
        options.addContentHashHeader = context.sign_body
        options.omitSessionTokenFromSignature = context.omit_session_token ?? false
        options.expires = context.expiration_in_seconds
        let signer = SigV4Signer(
            credentials: AWSCredentials(
                accessKeyID: context.credentials.access_key_id, secretAccessKey: context.credentials.secret_access_key,
                sessionToken: context.credentials.token),
            region: context.region, service: context.service, options: options)
        let request = Self.parseRequest(try Self.read(dir.appendingPathComponent("request.txt")))

        let header = signer.signHeaders(request, at: Self.date)
        #expect(header.canonicalRequest == (try Self.read(dir.appendingPathComponent("header-canonical-request.txt"))))
        #expect(header.stringToSign == (try Self.read(dir.appendingPathComponent("header-string-to-sign.txt"))))
        #expect(header.signature == (try Self.read(dir.appendingPathComponent("header-signature.txt"))))

        let query = signer.presign(request, at: Self.date)
        #expect(query.canonicalRequest == (try Self.read(dir.appendingPathComponent("query-canonical-request.txt"))))
        #expect(query.stringToSign == (try Self.read(dir.appendingPathComponent("query-string-to-sign.txt"))))
        #expect(query.signature == (try Self.read(dir.appendingPathComponent("query-signature.txt"))))
    }

    @Test(arguments: cases("botocore"))
    func botocoreCase(_ name: String) throws {
        let dir = Self.fixtures.appendingPathComponent("botocore").appendingPathComponent(name)
        let base = dir.lastPathComponent
        func file(_ ext: String) throws -> String { try Self.read(dir.appendingPathComponent("\(base).\(ext)")) }
        // The classic suite's requests carry their X-Amz-Date header already; a token the signer is
        // to add shows only in the signed request (.sreq), and is signed only where the expected
        // canonical request names it (post-sts-header-after adds it after signing).
        let request = Self.parseRequest(try file("req"))
        let token =
            request.header("X-Amz-Security-Token") == nil
            ? Self.parseRequest(try file("sreq")).header("X-Amz-Security-Token") : nil
        var signer = SigV4Signer(
            credentials: AWSCredentials(
                accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                sessionToken: token),
            region: "us-east-1", service: "service")
        signer.options.omitSessionTokenFromSignature = !(try file("creq")).contains("x-amz-security-token")
        let steps = signer.signHeaders(request, at: Self.date)
        #expect(steps.canonicalRequest == (try file("creq")))
        #expect(steps.stringToSign == (try file("sts")))
        #expect(steps.request.header("Authorization") == (try file("authz")))
    }

    @Test func suitesAreComplete() {
        #expect(Self.cases("aws-c-auth").count == 38)
        #expect(Self.cases("botocore").count >= 34)
    }
}
