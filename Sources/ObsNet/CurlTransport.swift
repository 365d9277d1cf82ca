import CCurl
import ObsCore

/// libcurl, initialised once for the process before the first handle is made.
private let curlGlobalInit: CURLcode = curl_global_init(Int(CURL_GLOBAL_DEFAULT))

/// HTTP over libcurl: one easy handle reused for every request (so connections are kept alive),
/// on a thread of its own. TLS peers and host names are always verified; `HTTPS_PROXY`,
/// `HTTP_PROXY` and `NO_PROXY` are honoured, as libcurl reads them itself. Nothing is logged: no
/// verbose mode, so neither headers nor bodies can reach a log.
public final class CurlTransport: HTTPTransport, @unchecked Sendable {
    /// Time allowed to establish a connection, in seconds.
    package let connectTimeout: Double
    /// Time allowed for a whole request, in seconds.
    package let totalTimeout: Double
    /// A PEM bundle of CA certificates to verify servers with, instead of the system's.
    package let caFile: String?
    /// The largest response body accepted; a longer one fails the request.
    package let maxResponseBytes: Int
    /// The User-Agent sent when a request names none.
    public let userAgent: String
    private let executor: BlockingExecutor
    // Touched only on the executor's thread.
    private let handle: UnsafeMutableRawPointer
    /// The size of the last response body: the next one is reserved at that size, so that a scrape
    /// of a few hundred kilobytes is received into one buffer instead of one grown (and copied)
    /// seven times. Touched only on the executor's queue.
    private var lastResponseBytes = 0

    public init(
        connectTimeout: Double = 5, totalTimeout: Double = 30, label: String = "curl", caFile: String? = nil,
        maxResponseBytes: Int = 64 << 20, userAgent: String = BuildInfo.userAgent
    ) {
        _ = curlGlobalInit
        self.connectTimeout = connectTimeout
        self.totalTimeout = totalTimeout
        self.caFile = caFile
        self.maxResponseBytes = maxResponseBytes
        self.userAgent = userAgent
        self.executor = BlockingExecutor(label: "obs.\(label)")
        guard let handle = curl_easy_init() else { preconditionFailure("curl_easy_init failed: out of memory") }
        self.handle = handle
    }

    deinit {
        curl_easy_cleanup(handle)
    }

    /// Sends `request`, cut short at ``RequestDeadline/current`` when the task has one.
    public func send(_ request: HTTPRequest) async throws(TransportError) -> HTTPResponse {
        let deadline = RequestDeadline.current
        return try await executor.run { () throws(TransportError) -> HTTPResponse in
            try self.perform(request, deadline: deadline)
        }
    }

    private func perform(_ request: HTTPRequest, deadline: ContinuousClock.Instant?) throws(TransportError)
        -> HTTPResponse
    {
        var connectTimeout = self.connectTimeout
        var totalTimeout = self.totalTimeout
        if let deadline {
            // Measured here, on the handle's thread: the time queued behind other requests counts.
            let left = RequestDeadline.seconds(until: deadline)
            connectTimeout = min(connectTimeout, left)
            totalTimeout = min(totalTimeout, left)
        }
        curl_easy_reset(handle)
        let sink = ResponseSink(limit: maxResponseBytes)
        sink.bytes.reserveCapacity(min(lastResponseBytes, maxResponseBytes))
        defer { lastResponseBytes = sink.bytes.count }
        let sinkPointer = Unmanaged.passRetained(sink)
        defer { sinkPointer.release() }

        var headerList: UnsafeMutablePointer<curl_slist>? = nil
        for header in request.headers {
            headerList = curl_slist_append(headerList, "\(header.name): \(header.value)")
        }
        // libcurl adds "Expect: 100-continue" to larger POSTs, which costs a round trip: turn it off.
        headerList = curl_slist_append(headerList, "Expect:")
        defer { curl_slist_free_all(headerList) }

        var code = CURLE_OK
        func set(_ result: CURLcode) { if code == CURLE_OK { code = result } }
        set(obs_curl_setopt_ptr(handle, CURLOPT_URL, request.url))
        // A User-Agent header in the request replaces this one.
        set(obs_curl_setopt_ptr(handle, CURLOPT_USERAGENT, userAgent))
        set(obs_curl_setopt_long(handle, CURLOPT_NOSIGNAL, 1))
        set(obs_curl_setopt_long(handle, CURLOPT_SSL_VERIFYPEER, 1))
        set(obs_curl_setopt_long(handle, CURLOPT_SSL_VERIFYHOST, 2))
        // At least a millisecond: zero would mean no timeout at all to libcurl.
        set(obs_curl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, max(1, Int(connectTimeout * 1000))))
        set(obs_curl_setopt_long(handle, CURLOPT_TIMEOUT_MS, max(1, Int(totalTimeout * 1000))))
        set(obs_curl_setopt_ptr(handle, CURLOPT_ACCEPT_ENCODING, ""))
        if let caFile { set(obs_curl_setopt_ptr(handle, CURLOPT_CAINFO, caFile)) }
        set(obs_curl_setopt_slist(handle, CURLOPT_HTTPHEADER, headerList))
        set(obs_curl_setopt_write(handle, curlWriteCallback))
        set(obs_curl_setopt_ptr(handle, CURLOPT_WRITEDATA, sinkPointer.toOpaque()))
        switch request.method {
        case "GET":
            set(obs_curl_setopt_long(handle, CURLOPT_HTTPGET, 1))
        default:
            set(obs_curl_setopt_ptr(handle, CURLOPT_CUSTOMREQUEST, request.method))
            set(obs_curl_setopt_off(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(request.body.count)))
        }
        if code == CURLE_OK {
            // POSTFIELDS points libcurl at the body, which lives until perform returns (and the
            // handle is reset before its next use): no copy of a batch of up to 1 MiB.
            code = request.body.withUnsafeBytes { bytes in
                if request.method != "GET" {
                    let set = obs_curl_setopt_ptr(
                        handle, CURLOPT_POSTFIELDS, bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!)
                    guard set == CURLE_OK else { return set }
                }
                return curl_easy_perform(handle)
            }
        }
        guard code == CURLE_OK else {
            var reason = String(cString: curl_easy_strerror(code))
            if sink.overflowed { reason = "response larger than \(maxResponseBytes) bytes" }
            throw TransportError(
                code: Int(code.rawValue), message: "\(request.method) \(Self.redactedURL(request.url)): \(reason)",
                isRetryable: Self.isRetryable(code))
        }
        var status = 0
        _ = obs_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        var contentType: UnsafePointer<CChar>?
        _ = obs_curl_getinfo_string(handle, CURLINFO_CONTENT_TYPE, &contentType)
        return HTTPResponse(status: status, body: sink.bytes, contentType: contentType.map { String(cString: $0) })
    }

    /// The URL without its query, which may hold a presigned signature or token.
    package static func redactedURL(_ url: String) -> String {
        url.split(separator: "?", maxSplits: 1).first.map(String.init) ?? url
    }

    static func isRetryable(_ code: CURLcode) -> Bool {
        switch code {
        case CURLE_COULDNT_CONNECT, CURLE_OPERATION_TIMEDOUT, CURLE_SEND_ERROR, CURLE_RECV_ERROR, CURLE_GOT_NOTHING,
            CURLE_COULDNT_RESOLVE_HOST, CURLE_PARTIAL_FILE, CURLE_HTTP2, CURLE_HTTP2_STREAM:
            return true
        default:
            return false
        }
    }
}

/// Collects a response body as libcurl hands it over, up to a limit.
private final class ResponseSink {
    let limit: Int
    var bytes: [UInt8] = []
    var overflowed = false

    init(limit: Int) {
        self.limit = limit
    }
}

private let curlWriteCallback:
    @convention(c) (UnsafeMutablePointer<CChar>?, Int, Int, UnsafeMutableRawPointer?) -> Int = {
        data, size, count, context in
        guard let data, let context else { return 0 }
        let sink = Unmanaged<ResponseSink>.fromOpaque(context).takeUnretainedValue()
        let length = size * count
        guard sink.bytes.count + length <= sink.limit else {
            sink.overflowed = true
            return 0
        }
        data.withMemoryRebound(to: UInt8.self, capacity: length) {
            sink.bytes.append(contentsOf: UnsafeBufferPointer(start: $0, count: length))
        }
        return length
    }
