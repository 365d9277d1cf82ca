import Foundation
import ObsCore
import Testing

@testable import ObsXRay

/// The one-pass scanner against Foundation's JSON parser: it accepts what is JSON, refuses what is
/// not, and reads the same fields.
@Suite struct SegmentScannerTests {
    static func scan(_ text: String) -> SegmentScanner.Fields? {
        Array(text.utf8).withUnsafeBytes { SegmentScanner.scan($0) }
    }

    /// The text of one field of the scanned `text` (a span of its bytes, escapes decoded).
    static func field(_ text: String, _ field: KeyPath<SegmentScanner.Fields, SegmentScanner.Span?>) -> String? {
        Array(text.utf8).withUnsafeBytes { bytes in
            SegmentScanner.scan(bytes).flatMap { SegmentScanner.text($0[keyPath: field], in: bytes) }
        }
    }

    @Test(arguments: [
        #"{}"#, #"{"a":[1,2,{"b":null}],"c":"x"}"#, #" { "id" : "x" , "n" : -0.5e+3 } "#,
        #"{"s":"\"\\\/\b\f\n\r\t\u00e9"}"#,
        #"{"emoji":"\ud83d\ude00","raw":"é€😀"}"#, #"{"a":true,"b":false,"c":null,"d":0,"e":1E5,"f":[]}"#,
    ])
    func wellFormedObjectsAreAccepted(_ text: String) {
        #expect(Self.scan(text) != nil, "\(text)")
        #expect((try? JSONSerialization.jsonObject(with: Data(text.utf8))) != nil)
    }

    @Test(arguments: [
        #"{"a":1,}"#, #"{"a":[1,]}"#, #"{"a":"unterminated}"#, #"{"a":"bad \x escape"}"#, "{\"a\":\"tab\there\"}",
        #"{"a":01}"#,
        #"{"a":.5}"#, #"{"a":1.}"#, #"{"a":1e}"#, #"{"a":tru}"#, #"{"a" 1}"#, #"{a:1}"#, #"[1,2]"#, #"{"a":1}x"#,
        #"{"a":1"#,
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
        #expect(Self.field(#"{"name":"caf\u00e9 \ud83d\ude00 \"q\""}"#, \.name) == "café 😀 \"q\"")
    }

    @Test func theFieldsAreReadAtTheirPlaceOnly() throws {
        let text =
            #"{"id":"70de5b6f19ff9a0b","name":"svc","trace_id":"1-581cf771-a006649127e371903a2de979","start_time":1.5,"end_time":2.25,"fault":true,"http":{"request":{"method":"POST","url":"/a/1"},"response":{"status":503}},"subsegments":[{"id":"ffffffffffffffff","name":"inner","http":{"request":{"method":"GET"}},"error":true}],"metadata":{"name":"not me","start_time":9}}"#
        let fields = try #require(Self.scan(text))
        #expect(Self.field(text, \.id) == "70de5b6f19ff9a0b")
        #expect(Self.field(text, \.name) == "svc")
        #expect(fields.startTime == 1.5 && fields.endTime == 2.25)
        #expect(fields.fault && !fields.error && !fields.throttle)
        #expect(fields.hasHTTPRequest)
        #expect(Self.field(text, \.method) == "POST" && Self.field(text, \.url) == "/a/1" && fields.status == 503)
    }
}

@Suite struct SegmentScannerUTF8Tests {
    @Test(
        arguments: [
            [0xC3, 0x28], [0xE2, 0x82], [0xED, 0xA0, 0x80], [0xF5, 0x80, 0x80, 0x80], [0xC0, 0xAF], [0x80],
        ] as [[UInt8]])
    func invalidUTF8IsRefusedInValuesAndKeys(_ bad: [UInt8]) {
        let inValue: [UInt8] = Array(#"{"metadata":{"x":""#.utf8) + bad + Array(#""}}"#.utf8)
        let inKey: [UInt8] = Array(#"{"a"#.utf8) + bad + Array(#"":1}"#.utf8)
        let inWanted: [UInt8] = Array(#"{"name":""#.utf8) + bad + Array(#""}"#.utf8)
        for text in [inValue, inKey, inWanted] {
            #expect(text.withUnsafeBytes { SegmentScanner.scan($0) } == nil)
        }
        let good: [UInt8] = Array(#"{"name":"caf"#.utf8) + [0xC3, 0xA9] + Array(#"","k":"€"}"#.utf8)
        #expect(
            good.withUnsafeBytes { bytes in
                SegmentScanner.scan(bytes).flatMap { SegmentScanner.text($0.name, in: bytes) }
            } == "café")
    }
}

/// The scanner's fast paths against plain definitions: eight-byte string scanning and the exact
/// decimal conversion.
@Suite struct SegmentScannerFastPathTests {
    @Test func stopBytesMarksExactlyQuotesBackslashesAndControlBytes() {
        // Every byte value in every position of a word of ordinary bytes (and of a word of high bytes).
        for filler in [UInt8(ascii: "a"), 0xC3] {
            for position in 0..<8 {
                for value in 0...255 {
                    var bytes = [UInt8](repeating: filler, count: 8)
                    bytes[position] = UInt8(value)
                    let word = bytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
                    let stops = JSONText.stopBytes(word)
                    let isStop = value < 0x20 || value == 0x22 || value == 0x5C
                    #expect(
                        stops == (isStop ? UInt64(0x80) << UInt64(position * 8) : 0), "byte \(value) at \(position)")
                }
            }
        }
    }

    @Test func stringsOfEveryLengthAroundAWordAreReadWhole() {
        // Quotes, escapes, control and non-ASCII bytes at every offset across word boundaries.
        for length in 0..<40 {
            for special in ["", "\\\"", "\\\\", "\\u00e9", "é", "😀"] {
                for at in stride(from: 0, through: length, by: 3) {
                    var value = String(repeating: "x", count: length)
                    value.insert(contentsOf: special, at: value.index(value.startIndex, offsetBy: at))
                    let text = #"{"name":""# + value + #"","k":1}"#
                    let expected = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any]
                    #expect(SegmentScannerTests.field(text, \.name) == expected?["name"] as? String, "\(text)")
                    let control = #"{"name":""# + value + "\u{01}" + #""}"#
                    #expect(SegmentScannerTests.scan(control) == nil, "\(control)")
                    let unterminated = #"{"name":""# + value
                    #expect(SegmentScannerTests.scan(unterminated) == nil, "\(unterminated)")
                }
            }
        }
    }

    @Test func decimalsMatchStrtod() {
        var generator = SystemRandomNumberGenerator()
        var texts = [
            "0", "-0", "1", "200", "503", "1795729074.1045", "1795729074.104512", "0.000001", "9007199254740993",
            "18446744073709551616", "123456789012345678901234567890", "1.7976931348623157e308", "4.9e-324", "1E5",
            "-2.5e-3",
            "0.1234567890123456789", "1234567890.0000000001",
        ]
        for _ in 0..<20_000 {
            let seconds =
                Double(UInt32.random(in: 0...UInt32.max, using: &generator))
                + Double.random(in: 0..<1, using: &generator)
            texts.append(String(format: "%.\(Int.random(in: 0...9, using: &generator))f", seconds))
            texts.append(
                String(
                    UInt64.random(in: 0...UInt64.max, using: &generator) >> UInt64.random(in: 0...63, using: &generator)
                ))
        }
        for text in texts {
            let value = Array(text.utf8).withUnsafeBytes { SegmentScanner.decimal($0) }
            let reference = strtod(text, nil)
            #expect(
                value?.bitPattern == reference.bitPattern, "\(text): \(String(describing: value)) against \(reference)")
        }
    }
}
