import Testing

@testable import ObsAWS

/// libcrypto's SHA-256 and HMAC-SHA-256 through `Digest`, against published vectors.
@Suite struct DigestTests {
    static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
    }
    static func bytes(hex: String) -> [UInt8] {
        var out: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            out.append(UInt8(hex[index..<next], radix: 16)!)
            index = next
        }
        return out
    }

    /// FIPS 180-2, appendix B, and the empty message.
    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        (
            "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        ),
    ])
    func sha256(_ message: String, _ expected: String) {
        #expect(Self.hex(Digest.sha256(Array(message.utf8))) == expected)
    }

    @Test func sha256OfAMillionAs() {
        #expect(
            Self.hex(Digest.sha256([UInt8](repeating: 0x61, count: 1_000_000)))
                == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    /// RFC 4231 test cases 1, 2, 4, 6 and 7 (6 and 7 have a key longer than the block).
    @Test(arguments: [
        (
            "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "4869205468657265",
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        ),
        (
            "4a656665", "7768617420646f2079612077616e7420666f72206e6f7468696e673f",
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        ),
        (
            "0102030405060708090a0b0c0d0e0f10111213141516171819",
            String(repeating: "cd", count: 50), "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"
        ),
        (
            String(repeating: "aa", count: 131),
            "54657374205573696e67204c6172676572205468616e20426c6f636b2d53697a65204b6579202d2048617368204b6579204669727374",
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        ),
        (
            String(repeating: "aa", count: 131),
            "5468697320697320612074657374207573696e672061206c6172676572207468616e20626c6f636b2d73697a65206b657920616e642061206c6172676572207468616e20626c6f636b2d73697a6520646174612e20546865206b6579206e6565647320746f20626520686173686564206265666f7265206265696e6720757365642062792074686520484d414320616c676f726974686d2e",
            "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"
        ),
    ])
    func hmacSHA256(_ key: String, _ data: String, _ expected: String) {
        #expect(Self.hex(Digest.hmacSHA256(key: Self.bytes(hex: key), Self.bytes(hex: data))) == expected)
    }

    @Test func anEmptyKeyAndMessageStillGiveAMAC() {
        #expect(
            Self.hex(Digest.hmacSHA256(key: [], []))
                == "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad")
    }
}

/// SigV4's header-value canonicalization on the byte level: a CRLF inside a value is folded like
/// a lone LF ("\r\n" is one Swift Character, which a Character comparison would not split).
@Suite struct SigV4HeaderValueTests {
    @Test(arguments: [
        ("  a   b  ", "a b"),
        ("value1\n  value2\n     value3", "value1 value2 value3"),
        ("value1\r\n  value2\r\nvalue3", "value1 value2 value3"),
        ("\t\r\n", ""),
    ])
    func foldsWhitespaceAndLineBreaks(_ value: String, _ expected: String) {
        #expect(SigV4Signer.trimmedHeaderValue(value) == expected)
    }
}
