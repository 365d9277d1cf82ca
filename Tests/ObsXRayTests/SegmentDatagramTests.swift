import Foundation
import ObsCore
import Testing

@testable import ObsXRay

/// Datagrams and documents from the X-Ray docs and the Python SDK (Fixtures/, see SOURCES.md), and
/// a corpus of malformed ones.
@Suite struct SegmentDatagramTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    static func files(_ folder: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: fixtures.appendingPathComponent(folder).path)) ?? [])
            .sorted()
    }

    static func bytes(_ path: String) throws -> [UInt8] {
        Array(try Data(contentsOf: fixtures.appendingPathComponent(path)))
    }

    @Test(arguments: files("udp") + files("udp-sdk").map { "sdk/\($0)" })
    func datagramsFromTheDocsAndTheSDKAreAccepted(_ name: String) throws {
        let path = name.hasPrefix("sdk/") ? "udp-sdk/\(name.dropFirst(4))" : "udp/\(name)"
        let result = SegmentDatagram.parse(try Self.bytes(path))
        guard case .success(let segment) = result else {
            Issue.record("\(name): \(result)")
            return
        }
        #expect(segment.id.count == 16)
        #expect(segment.traceID.hasPrefix("1-"))
    }

    @Test(arguments: files("examples"))
    func documentedExamplesNeedATraceIDWhenSentAlone(_ name: String) throws {
        let document = try Self.bytes("examples/\(name)")
        let result = SegmentDatagram.parse(Array(#"{"format": "json", "version": 1}"#.utf8) + [0x0A] + document)
        // 04, 06 and 07 are subsegment fragments without a trace id; 10 is a PutTraceSegments answer.
        let notSegments = [
            "xray-api-segmentdocuments-04.json", "xray-api-segmentdocuments-06.json",
            "xray-api-segmentdocuments-07.json",
            "xray-api-sendingdata-10.json",
        ]
        if notSegments.contains(name) {
            #expect(throws: SegmentRejection.self) { try result.get() }
        } else {
            #expect(throws: Never.self) { try result.get() }
        }
    }

    static let valid =
        #"{"id":"70de5b6f19ff9a0b","name":"Scorekeep","trace_id":"1-581cf771-a006649127e371903a2de979","start_time":1478293361.271,"end_time":1478293361.449}"#

    @Test(arguments: [
        ("no header or newline", Self.valid, SelfMetrics.Reason.datagramNoHeader),
        ("wrong version", "{\"format\":\"json\",\"version\":2}\n" + Self.valid, .datagramBadHeader),
        ("header not JSON", "format json\n" + Self.valid, .datagramBadHeader),
        ("body not JSON", "{\"format\":\"json\",\"version\":1}\n{\"id\": ", .datagramBadJSON),
        ("body an array", "{\"format\":\"json\",\"version\":1}\n[1,2]", .datagramBadJSON),
        (
            "oversize", "{\"format\":\"json\",\"version\":1}\n" + String(repeating: " ", count: 65_537),
            .datagramOversize
        ),
        (
            "short id",
            "{\"format\":\"json\",\"version\":1}\n"
                + Self.valid.replacingOccurrences(of: "70de5b6f19ff9a0b", with: "70de5b"), .segmentBadID
        ),
        (
            "id not hex",
            "{\"format\":\"json\",\"version\":1}\n"
                + Self.valid.replacingOccurrences(of: "70de5b6f19ff9a0b", with: "70de5b6f19ff9a0z"), .segmentBadID
        ),
        (
            "bad trace id",
            "{\"format\":\"json\",\"version\":1}\n"
                + Self.valid.replacingOccurrences(of: "1-581cf771", with: "2-581cf771"), .segmentBadTraceID
        ),
        (
            "no end, not in progress",
            "{\"format\":\"json\",\"version\":1}\n"
                + Self.valid.replacingOccurrences(of: ",\"end_time\":1478293361.449", with: ""), .segmentBadTimes
        ),
        (
            "ends before it starts",
            "{\"format\":\"json\",\"version\":1}\n"
                + Self.valid.replacingOccurrences(of: "1478293361.449", with: "1478293300"), .segmentBadTimes
        ),
        (
            "subsegment without parent",
            "{\"format\":\"json\",\"version\":1}\n"
                + Self.valid.replacingOccurrences(of: "\"name\"", with: "\"type\":\"subsegment\",\"name\""),
            .subsegmentMissingFields
        ),
    ])
    func malformedDatagramsAreRefusedWithTheirReason(_ name: String, _ datagram: String, _ reason: SelfMetrics.Reason) {
        #expect(throws: SegmentRejection(reason: reason), "\(name)") {
            try SegmentDatagram.parse(Array(datagram.utf8)).get()
        }
    }

    @Test func inProgressSegmentsNeedNoEndTime() {
        let datagram =
            "{\"format\":\"json\",\"version\":1}\n"
            + Self.valid.replacingOccurrences(of: "\"end_time\":1478293361.449", with: "\"in_progress\":true")
        #expect(throws: Never.self) { try SegmentDatagram.parse(Array(datagram.utf8)).get() }
    }

    @Test(arguments: [
        ("http://user-service:8080/api/users/1042?expand=roles", "/api/users/{id}"),
        ("/api/orders/3f2b1c9e-8a7d-4e6f-9b0a-1c2d3e4f5a6b/items", "/api/orders/{id}/items"),
        ("/api/products/a1b2c3d4e5f6", "/api/products/{id}"),
        ("/api/products/search", "/api/products/search"),
        ("https://shop.example.com", "/"),
        ("/realms/shop/protocol/openid-connect/token", "/realms/shop/protocol/openid-connect/token"),
        ("/api/v1/users/42/", "/api/v1/users/{id}/"),
    ])
    func routesCollapseIdentifiers(_ url: String, _ route: String) {
        #expect(RouteTemplate.route(of: url) == route)
    }

    @Test func daemonAddressesParse() {
        #expect(XRaySource.Settings.parseAddress("127.0.0.1:2000")! == ("127.0.0.1", 2000))
        #expect(XRaySource.Settings.parseAddress("[::1]:2000")! == ("::1", 2000))
        #expect(XRaySource.Settings.parseAddress(":2000")! == ("0.0.0.0", 2000))
        #expect(XRaySource.Settings.parseAddress("2000") == nil)
        #expect(XRaySource.Settings.parseAddress("host:99999") == nil)
    }
}

@Suite struct XRayReceiveNapTests {
    @Test func theNapFitsTheBufferTheKernelGranted() {
        // The kernel's default (212,992 bytes, reported doubled): no nap.
        #expect(XRaySource.nap(receiveBuffer: 425_984).tv_nsec == 0)
        // 8 MiB: a quarter of it fills in about 1 ms at 2 GB/s; 16 MiB and more: capped at 2 ms.
        #expect(XRaySource.nap(receiveBuffer: 8 << 20).tv_nsec == 1_048_576)
        #expect(XRaySource.nap(receiveBuffer: 16 << 20).tv_nsec == 2_000_000)
        #expect(XRaySource.nap(receiveBuffer: 1 << 30).tv_nsec == 2_000_000)
    }
}
