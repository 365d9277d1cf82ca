import Foundation
import Synchronization
import Testing

@testable import ObsCore

/// The small replacements for Foundation API the agent's modules use (they link only
/// FoundationEssentials), checked against Foundation itself.
@Suite struct PortableUtilitiesTests {
    @Test func splitMix64GivesTheReferenceSequence() {
        // Vigna's splitmix64.c from a state of 0, and of 1234567.
        var zero = SplitMix64(seed: 0)
        #expect([zero.next(), zero.next()] == [0xE220_A839_7B1D_CDAF, 0x6E78_9E6A_A1B9_65F4])
        var other = SplitMix64(seed: 1_234_567)
        #expect(other.next() == 0x599E_D017_FB08_FC85)
    }

    @Test func jsonIntegersAndStringsAgreeWithSwiftsOwn() throws {
        var generator = SplitMix64(seed: 7)
        let values: [Int64] =
            [0, 1, -1, 9, 10, -10, .max, .min]
            + (0..<1000).map { _ in Int64(bitPattern: generator.next()) >> (generator.next() % 63) }
        for value in values {
            var out: [UInt8] = []
            JSONText.appendInteger(value, to: &out)
            #expect(String(decoding: out, as: UTF8.self) == String(value))
        }
        for text in [
            "", "plain", "quote \" and \\ backslash", "tab\tnew\nline\r\u{01}\u{1F}", "ünïcødé 🚀",
            String(repeating: "x\"", count: 40),
        ] {
            var raw: [UInt8] = []
            Array(text.utf8).withUnsafeBytes { JSONText.appendQuoted($0, to: &raw) }
            #expect(String(decoding: raw, as: UTF8.self) == JSONText.quoted(text))
            let decoded = try JSONDecoder().decode(String.self, from: Data(raw))
            #expect(decoded == text)
        }
    }

    @Test func firstIndexOfAByteAgreesWithALoop() {
        var generator = SplitMix64(seed: 7)
        for length in [0, 1, 7, 8, 15, 16, 17, 33, 100] {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...3, using: &generator) }
            bytes.withUnsafeBytes { raw in
                for byte: UInt8 in [0, 3, 9] {
                    for start in 0...(length + 1) {
                        let expected = start < length ? bytes[start...].firstIndex(of: byte) : nil
                        #expect(raw.firstIndex(ofByte: byte, from: start) == expected, "\(length) \(byte) \(start)")
                    }
                }
            }
        }
        #expect(UnsafeRawBufferPointer(start: nil, count: 0).firstIndex(ofByte: 0) == nil)
    }

    @Test func rfc3339AgreesWithFoundationsISO8601Parser() {
        let plain = ISO8601DateFormatter()
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        var random = SystemRandomNumberGenerator()
        for _ in 0..<2_000 {
            let seconds = Double(Int64.random(in: 0...4_102_444_800, using: &random))
            let date = Date(timeIntervalSince1970: seconds)
            #expect(RFC3339.seconds(plain.string(from: date)) == seconds)
            let millis = Double(Int.random(in: 0...999, using: &random)) / 1000
            let text = fractional.string(from: Date(timeIntervalSince1970: seconds + millis))
            #expect(abs(RFC3339.seconds(text)! - (seconds + millis)) < 0.0005, "\(text)")
        }
    }

    @Test(arguments: [
        ("2026-11-27T06:00:00Z", 1_795_759_200.0),
        ("2026-11-27t06:00:00z", 1_795_759_200.0),
        ("2026-11-27T07:30:00+01:30", 1_795_759_200.0),
        ("2026-11-27T01:00:00-05:00", 1_795_759_200.0),
        ("2026-11-27T06:00:00.250Z", 1_795_759_200.25),
        ("2024-02-29T00:00:00Z", 1_709_164_800.0),
        ("1970-01-01T00:00:00Z", 0.0),
    ])
    func rfc3339Reads(_ text: String, _ expected: Double) {
        #expect(RFC3339.seconds(text) == expected)
    }

    @Test(arguments: [
        "", "2026-11-27", "2026-11-27T06:00:00", "2026-13-01T00:00:00Z", "2025-02-29T00:00:00Z", "2026-11-27T24:00:00Z",
        "2026-11-27T06:00:00.Z", "2026-11-27T06:00:00Zjunk", "2026-11-27 06:00:00Z", "2026-11-27T06:00:00+0100",
        "२०२६-11-27T06:00:00Z",
    ])
    func rfc3339RefusesWhatIsNotATimestamp(_ text: String) {
        #expect(RFC3339.seconds(text) == nil)
    }

    @Test func cFormatMatchesFoundationsStringFormat() {
        #expect(String(cFormat: "%020llu", UInt64(42)) == String(format: "%020llu", UInt64(42)))
        #expect(String(cFormat: "%.2f", 3.14159) == "3.14")
        #expect(String(cFormat: "%04d-%02d", 7, 3) == "0007-03")
        #expect(String(cFormat: "%0100d", 7) == String(repeating: "0", count: 99) + "7", "longer than the first buffer")
    }

    @Test(arguments: [
        (" \t a b \t ", "a b", "a b"),
        ("\n x \r\n", "\n x \r\n", "x"),
        ("\u{A0}nbsp\u{2003}", "nbsp", "nbsp"),
        ("   ", "", ""),
        ("", "", ""),
    ])
    func trimmingMatchesFoundation(_ text: String, _ blanks: String, _ whitespace: String) {
        #expect(text.trimmingBlanks() == blanks)
        #expect(text.trimmingBlanks() == text.trimmingCharacters(in: .whitespaces))
        #expect(text.trimmingWhitespace() == whitespace)
        #expect(text.trimmingWhitespace() == text.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// Synchronous on purpose: the signalling loop must not wait for a turn on the cooperative
    /// pool, which a loaded test run can keep busy for seconds.
    @Test func aConditionWaitTimesOutOnTheMonotonicClockAndWakesOnASignal() {
        let condition = Condition()
        condition.lock()
        let start = Monotonic.seconds()
        #expect(condition.wait(seconds: 0.05) == false)
        #expect(Monotonic.seconds() - start >= 0.045)
        condition.unlock()

        let woken = Atomic<Bool>(false)
        let named = Mutex("")
        let waiter = OSThread.start(name: "obs.test-thread-name-longer-than-15") {
            named.withLock { $0 = (try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? "" }
            condition.lock()
            woken.store(condition.wait(seconds: 30), ordering: .relaxed)
            condition.unlock()
        }
        let signalled = Monotonic.seconds()
        while !waiter.isFinished && Monotonic.seconds() - signalled < 60 {
            condition.lock()
            condition.signal()
            condition.unlock()
            usleep(5_000)
        }
        let wasWoken = woken.load(ordering: .relaxed)
        #expect(wasWoken, "woken by a signal, not by the 30 s timeout")
        #expect(named.withLock { $0 } == "obs.test-thread\n", "the kernel keeps the name's first 15 bytes")
    }

    @Test func fileErrorsReadAsTheSystemSaysThem() {
        #expect((POSIXError(.ENOENT) as any Error).fileErrorText == "No such file or directory")
        do {
            try FileManager.default.createDirectory(atPath: "/proc/obs-no/such", withIntermediateDirectories: true)
            Issue.record("created a directory under /proc")
        } catch {
            #expect(error.fileErrorText == "No such file or directory", "\(error)")
        }
        struct Other: Error {}
        #expect(Other().fileErrorText == "Other()")
    }
}
