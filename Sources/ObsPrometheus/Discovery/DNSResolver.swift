#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Finds scrape targets in DNS: SRV records (as AWS Cloud Map and ECS Service Connect publish a
/// service's tasks, `_service._tcp.namespace`) with a small DNS client over UDP, and A/AAAA
/// records through the system resolver (`getaddrinfo`, so `/etc/hosts` and search domains work).
///
/// The DNS client asks the first `nameserver` of `/etc/resolv.conf` (in a VPC, the Route 53
/// resolver) unless a server is configured; it advertises a 4,096-byte EDNS payload so that a
/// large service's SRV set fits one answer.
public struct DNSResolver: Sendable {
    /// One SRV record: where one instance listens.
    public struct Service: Sendable, Hashable {
        package var priority: Int
        package var weight: Int
        public var port: Int
        package var target: String
    }

    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// `host:port` of the DNS server asked for SRV records.
    package let server: (host: String, port: Int)
    /// How long one query may wait for its answer, in seconds.
    package let timeout: Double

    package init(server: (host: String, port: Int)? = nil, timeout: Double = 2) {
        self.server = server ?? Self.systemServer() ?? ("127.0.0.53", 53)
        self.timeout = timeout
    }

    /// The first `nameserver` of `/etc/resolv.conf`.
    static func systemServer(path: String = "/etc/resolv.conf") -> (host: String, port: Int)? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var line: UnsafeMutablePointer<CChar>?
        var capacity = 0
        defer { free(line) }
        while getline(&line, &capacity, file) > 0 {
            let fields = String(cString: line!).split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" })
            if fields.count >= 2, fields[0] == "nameserver" { return (String(fields[1]), 53) }
        }
        return nil
    }

    // MARK: SRV

    /// The SRV records of `name`, empty when the name does not exist.
    package func services(_ name: String) throws(Failure) -> [Service] {
        let id = UInt16.random(in: 0...UInt16.max)
        let query = try Self.query(id: id, name: name, type: 33)
        let answer = try exchange(query)
        return try Self.parseServices(answer, id: id)
    }

    /// A query for `name` of `type`, with an EDNS OPT record.
    static func query(id: UInt16, name: String, type: UInt16) throws(Failure) -> [UInt8] {
        var out: [UInt8] = [UInt8(id >> 8), UInt8(id & 0xFF), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1]
        let absolute = name.hasSuffix(".") ? String(name.dropLast()) : name
        for label in absolute.split(separator: ".", omittingEmptySubsequences: false) {
            let bytes = Array(label.utf8)
            guard !bytes.isEmpty, bytes.count < 64 else {
                throw Failure(description: "\(name) is not a valid DNS name")
            }
            out.append(UInt8(bytes.count))
            out += bytes
        }
        out += [0, UInt8(type >> 8), UInt8(type & 0xFF), 0, 1]
        // OPT: root name, type 41, payload 4096, no extended flags, no data.
        out += [0, 0, 41, 0x10, 0x00, 0, 0, 0, 0, 0, 0]
        return out
    }

    static func parseServices(_ message: [UInt8], id: UInt16) throws(Failure) -> [Service] {
        var reader = MessageReader(bytes: message)
        guard message.count >= 12, reader.u16(at: 0) == id else {
            throw Failure(description: "DNS answer does not match the query")
        }
        let flags = reader.u16(at: 2)
        guard flags & 0x8000 != 0 else { throw Failure(description: "DNS answer is not a response") }
        if flags & 0x0200 != 0 { throw Failure(description: "DNS answer truncated even with EDNS") }
        let rcode = flags & 0x000F
        if rcode == 3 { return [] }
        guard rcode == 0 else { throw Failure(description: "DNS server answered with rcode \(rcode)") }
        let questions = Int(reader.u16(at: 4))
        let answers = Int(reader.u16(at: 6))
        reader.offset = 12
        for _ in 0..<questions {
            guard reader.skipName(), reader.skip(4) else { throw Failure(description: "malformed DNS answer") }
        }
        var services: [Service] = []
        for _ in 0..<answers {
            guard reader.skipName(), reader.offset + 10 <= message.count else {
                throw Failure(description: "malformed DNS answer")
            }
            let type = reader.u16(at: reader.offset)
            let length = Int(reader.u16(at: reader.offset + 8))
            reader.offset += 10
            let end = reader.offset + length
            guard end <= message.count else { throw Failure(description: "malformed DNS answer") }
            if type == 33, length >= 7 {
                let priority = Int(reader.u16(at: reader.offset))
                let weight = Int(reader.u16(at: reader.offset + 2))
                let port = Int(reader.u16(at: reader.offset + 4))
                var nameReader = reader
                nameReader.offset += 6
                guard let target = nameReader.name() else { throw Failure(description: "malformed SRV target") }
                services.append(Service(priority: priority, weight: weight, port: port, target: target))
            }
            reader.offset = end
        }
        return services
    }

    /// Sends `query` over UDP and waits for the answer with the same id.
    private func exchange(_ query: [UInt8]) throws(Failure) -> [UInt8] {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_DGRAM.rawValue)
        hints.ai_flags = AI_NUMERICHOST
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(server.host, "\(server.port)", &hints, &result) == 0, let address = result else {
            throw Failure(description: "DNS server \(server.host) is not an IP address")
        }
        defer { freeaddrinfo(result) }
        let fd = socket(address.pointee.ai_family, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "cannot open a UDP socket: errno \(errno)") }
        defer { close(fd) }
        guard connect(fd, address.pointee.ai_addr, address.pointee.ai_addrlen) == 0,
            query.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, 0) }) == query.count
        else { throw Failure(description: "cannot send to DNS server \(server.host):\(server.port): errno \(errno)") }
        var poll = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard Glibc.poll(&poll, 1, Int32(timeout * 1000)) == 1 else {
            throw Failure(description: "no answer from DNS server \(server.host):\(server.port) in \(timeout) s")
        }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard count > 0 else {
            throw Failure(description: "DNS server \(server.host):\(server.port) refused the query: errno \(errno)")
        }
        return Array(buffer[..<count])
    }

    // MARK: A and AAAA

    /// The addresses of `host` from the system resolver, as text (IPv6 without brackets).
    package static func addresses(_ host: String) throws(Failure) -> [String] {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, nil, &hints, &result)
        guard status == 0 else {
            // -5 is EAI_NODATA: the name exists but has no address of the family asked for.
            if status == EAI_NONAME || status == -5 { return [] }
            throw Failure(description: "cannot resolve \(host): \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(result) }
        var addresses: [String] = []
        var next = result
        while let entry = next {
            var text = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            if getnameinfo(
                entry.pointee.ai_addr, entry.pointee.ai_addrlen, &text, socklen_t(text.count), nil, 0, NI_NUMERICHOST)
                == 0
            {
                let address = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                if !addresses.contains(address) { addresses.append(address) }
            }
            next = entry.pointee.ai_next
        }
        return addresses
    }
}

/// Reads names and integers out of a DNS message, following compression pointers.
struct MessageReader {
    let bytes: [UInt8]
    var offset = 0

    func u16(at index: Int) -> UInt16 {
        index + 1 < bytes.count ? UInt16(bytes[index]) << 8 | UInt16(bytes[index + 1]) : 0
    }

    mutating func skip(_ n: Int) -> Bool {
        guard offset + n <= bytes.count else { return false }
        offset += n
        return true
    }

    mutating func skipName() -> Bool {
        while offset < bytes.count {
            let length = bytes[offset]
            if length == 0 {
                offset += 1
                return true
            }
            if length & 0xC0 == 0xC0 {
                offset += 2
                return offset <= bytes.count
            }
            offset += 1 + Int(length)
        }
        return false
    }

    /// The name at `offset` (which moves past it), dotted, without the final dot.
    mutating func name() -> String? {
        var labels: [String] = []
        var position = offset
        var jumped = false
        var hops = 0
        while position < bytes.count {
            let length = bytes[position]
            if length == 0 {
                if !jumped { offset = position + 1 }
                return labels.joined(separator: ".")
            }
            if length & 0xC0 == 0xC0 {
                guard position + 1 < bytes.count, hops < 32 else { return nil }
                if !jumped { offset = position + 2 }
                jumped = true
                hops += 1
                position = Int(length & 0x3F) << 8 | Int(bytes[position + 1])
                continue
            }
            let end = position + 1 + Int(length)
            guard end <= bytes.count else { return nil }
            labels.append(String(decoding: bytes[(position + 1)..<end], as: UTF8.self))
            position = end
        }
        return nil
    }
}
