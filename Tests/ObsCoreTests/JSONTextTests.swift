import Foundation
import ObsCore
import Testing

@Suite struct JSONTextTests {
    @Test func quotedTextReadsBackAsTheSameString() throws {
        let controls = String((0..<0x20).map { Character(Unicode.Scalar(UInt8($0))) })
        for text in [
            "", "plain", "\"quoted\" \\ back", "é€😀 \u{2028}", controls, "a\(controls)b\"c\\",
            String(repeating: "x\n", count: 300),
        ] {
            let literal = JSONText.quoted(text)
            let decoded =
                try JSONSerialization.jsonObject(with: Data(literal.utf8), options: .fragmentsAllowed) as? String
            #expect(decoded == text, "\(literal)")
            #expect(
                !literal.utf8.dropFirst().dropLast().contains { $0 < 0x20 },
                "no raw control byte (a spool line must hold one body)")
        }
        #expect(JSONText.quoted("a\u{01}\n\"") == #""a\u0001\n\"""#)
    }

    @Test func escapesAreFoundAtEveryOffsetAcrossWords() throws {
        for length in 0..<26 {
            for special in ["\"", "\\", "\n", "\u{1F}", "é"] {
                for at in 0...length {
                    var text = String(repeating: "y", count: length)
                    text.insert(contentsOf: special, at: text.index(text.startIndex, offsetBy: at))
                    let literal = JSONText.quoted(text)
                    #expect(
                        try JSONSerialization.jsonObject(with: Data(literal.utf8), options: .fragmentsAllowed)
                            as? String == text, "\(literal)")
                }
            }
        }
    }
}
