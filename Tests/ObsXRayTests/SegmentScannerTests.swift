import Foundation
import Testing

@testable import ObsXRay

/// The one-pass scanner against Foundation's JSON parser: it accepts what is JSON, refuses what is
/// not, and reads the same fields.
@Suite struct SegmentScannerTests {
    static func scan(_ text: String) -> SegmentScanner.Fields? {
        Array(text.utf8).withUnsafeBytes { SegmentScanner.scan($0) }
    }

    @Test(arguments: [
        #"{}"#, #"{"a":[1,2,{"b":null}],"c":"x"}"#, #" { "id" : "x" , "n" : -0.5e+3 } "#, #"{"s":"\"\\\/\b\f\n\r\t\u00e9"}"#,
        #"{"emoji":"\ud83d\ude00","raw":"é€😀"}"#, #"{"a":true,"b":false,"c":null,"d":0,"e":1E5,"f":[]}"#,
    ])
    func wellFormedObjectsAreAccepted(_ text: String) {
        #expect(Self.scan(text) != nil, "\(text)")
        #expect((try? JSONSerialization.jsonObject(with: Data(text.utf8))) != nil)
    }

    @Test(arguments: [
        #"{"a":1,}"#, #"{"a":[1,]}"#, #"{"a":"unterminated}"#, #"{"a":"bad \x escape"}"#, "{\"a\":\"tab\there\"}", #"{"a":01}"#,
        #"{"a":.5}"#, #"{"a":1.}"#, #"{"a":1e}"#, #"{"a":tru}"#, #"{"a" 1}"#, #"{a:1}"#, #"[1,2]"#, #"{"a":1}x"#, #"{"a":1"#,
        #"{"a":"\u12"}"#, "", "{\"a\":\"\u{FFFF}\"", #"{"a":-}"#,
    ])
    func malformedTextIsRefused(_ text: String) {
        #expect(Self.scan(text) == nil, "\(text)")
    }

    @Test func invalidUTF8AndDeepNestingAreRefused() {
        let bad: [UInt8] = Array(#"{"a":""#.utf8) + [0xC3, 0x28] + Array(#""}"#.utf8)
        #expect(bad.withUnsafeBytes { SegmentScanner.scan($0) } == nil)
        let deep = "{\"a\":" + String(repeating: "[", count: 100) + String(repeating: "]", count: 100) + "}"
        #expect(Self.scan(deep) == nil, "nesting is bounded")
        let fine = "{\"a\":" + String(repeating: "[", count: 50) + String(repeating: "]", count: 50) + "}"
        #expect(Self.scan(fine) != nil)
    }

    @Test func escapesDecode() {
        #expect(Self.scan(#"{"name":"caf\u00e9 \ud83d\ude00 \"q\""}"#)?.name == "café 😀 \"q\"")
    }

    @Test func theFieldsAreReadAtTheirPlaceOnly() throws {
        let text = #"{"id":"70de5b6f19ff9a0b","name":"svc","trace_id":"1-581cf771-a006649127e371903a2de979","start_time":1.5,"end_time":2.25,"fault":true,"http":{"request":{"method":"POST","url":"/a/1"},"response":{"status":503}},"subsegments":[{"id":"ffffffffffffffff","name":"inner","http":{"request":{"method":"GET"}},"error":true}],"metadata":{"name":"not me","start_time":9}}"#
        let fields = try #require(Self.scan(text))
        #expect(fields.id == "70de5b6f19ff9a0b")
        #expect(fields.name == "svc")
        #expect(fields.startTime == 1.5 && fields.endTime == 2.25)
        #expect(fields.fault && !fields.error && !fields.throttle)
        #expect(fields.hasHTTPRequest)
        #expect(fields.method == "POST" && fields.url == "/a/1" && fields.status == 503)
    }
}

@Suite struct SegmentScannerUTF8Tests {
    @Test(arguments: [[0xC3, 0x28], [0xE2, 0x82], [0xED, 0xA0, 0x80], [0xF5, 0x80, 0x80, 0x80], [0xC0, 0xAF], [0x80]] as [[UInt8]])
    func invalidUTF8IsRefusedInValuesAndKeys(_ bad: [UInt8]) {
        let inValue: [UInt8] = Array(#"{"metadata":{"x":""#.utf8) + bad + Array(#""}}"#.utf8)
        let inKey: [UInt8] = Array(#"{"a"#.utf8) + bad + Array(#"":1}"#.utf8)
        let inWanted: [UInt8] = Array(#"{"name":""#.utf8) + bad + Array(#""}"#.utf8)
        for text in [inValue, inKey, inWanted] {
            #expect(text.withUnsafeBytes { SegmentScanner.scan($0) } == nil)
        }
        let good: [UInt8] = Array(#"{"name":"caf"#.utf8) + [0xC3, 0xA9] + Array(#"","k":"€"}"#.utf8)
        #expect(good.withUnsafeBytes { SegmentScanner.scan($0) }?.name == "café")
    }
}
