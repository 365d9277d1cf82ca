import Testing

@testable import ObsPrometheus

/// The DNS client's message handling, on answers built byte by byte as RFC 1035 and RFC 2782 lay
/// them out (the live exchange is tested end to end against dnslib in ObsAgentTests).
@Suite struct DNSResolverTests {
    /// An answer to `_api._tcp.ecom.local SRV` with two records, the second target compressed.
    static func answer(id: UInt16, rcode: UInt8 = 0, truncated: Bool = false) throws -> [UInt8] {
        var message = try DNSResolver.query(id: id, name: "_api._tcp.ecom.local", type: 33)
        message.removeLast(11)  // the OPT record
        message[2] = 0x81 | (truncated ? 0x02 : 0)
        message[3] = 0x80 | rcode
        message[7] = 2  // answers
        message[11] = 0  // additional
        func record(priority: UInt16, weight: UInt16, port: UInt16, target: [UInt8]) -> [UInt8] {
            let rdata =
                [
                    UInt8(priority >> 8), UInt8(priority & 0xFF), UInt8(weight >> 8), UInt8(weight & 0xFF),
                    UInt8(port >> 8), UInt8(port & 0xFF),
                ] + target
            // Name: a pointer to the question's name at offset 12.
            return [0xC0, 12, 0, 33, 0, 1, 0, 0, 0, 30, UInt8(rdata.count >> 8), UInt8(rdata.count & 0xFF)] + rdata
        }
        let firstTargetOffset = message.count + 12 + 6
        // task1.ecom.local
        message += record(priority: 10, weight: 5, port: 8080, target: [5] + Array("task1".utf8) + [0xC0, 22])
        // The same name as the first.
        message += record(priority: 10, weight: 5, port: 8081, target: [0xC0, UInt8(firstTargetOffset)])
        return message
    }

    @Test func servicesAreReadWithCompressedNames() throws {
        let services = try DNSResolver.parseServices(try Self.answer(id: 77), id: 77)
        #expect(
            services == [
                DNSResolver.Service(priority: 10, weight: 5, port: 8080, target: "task1.ecom.local"),
                DNSResolver.Service(priority: 10, weight: 5, port: 8081, target: "task1.ecom.local"),
            ])
    }

    @Test func errorsAndMismatchesAreRefused() throws {
        #expect(
            try DNSResolver.parseServices(try Self.answer(id: 5, rcode: 3), id: 5).isEmpty, "NXDOMAIN: no instances")
        #expect(throws: DNSResolver.Failure.self) {
            try DNSResolver.parseServices(try Self.answer(id: 5, rcode: 2), id: 5)
        }
        #expect(throws: DNSResolver.Failure.self) { try DNSResolver.parseServices(try Self.answer(id: 5), id: 6) }
        #expect(throws: DNSResolver.Failure.self) {
            try DNSResolver.parseServices(try Self.answer(id: 5, truncated: true), id: 5)
        }
        let cut = try Self.answer(id: 9)
        for length in [3, 12, 30, cut.count - 3] {
            #expect(throws: DNSResolver.Failure.self) {
                try DNSResolver.parseServices(Array(cut.prefix(length)), id: 9)
            }
        }
    }

    @Test func aPointerLoopEnds() {
        var reader = MessageReader(bytes: [0xC0, 0x00])
        #expect(reader.name() == nil)
    }

    @Test func queriesCarryTheNameAndAnEDNSRecord() throws {
        let query = try DNSResolver.query(id: 0x1234, name: "_a._tcp.x", type: 33)
        #expect(Array(query.prefix(4)) == [0x12, 0x34, 0x01, 0x00])
        #expect(Array(query[12..<23]) == [2, 95, 97, 4, 95, 116, 99, 112, 1, 120, 0])
        #expect(Array(query.suffix(11)) == [0, 0, 41, 0x10, 0x00, 0, 0, 0, 0, 0, 0])
        #expect(throws: DNSResolver.Failure.self) { try DNSResolver.query(id: 1, name: "a..b", type: 33) }
    }
}
