import Foundation
import Testing

@testable import ObsJournal

/// The inputs libFuzzer found that add coverage (Fuzz/regressions/fuzz-keycloak.b64, kept by
/// `KEEP=1 Fuzz/run`), replayed: each reads the same twice, and an event has a type and a realm.
struct KeycloakFuzzRegressionTests {
    static let inputs: [[UInt8]] = {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
            "../../Fuzz/regressions/fuzz-keycloak.b64"
        ).path
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { Data(base64Encoded: String($0)).map { Array($0) } }
    }()

    @Test func everyKeptInputReadsTheSameTwice() {
        #expect(Self.inputs.count > 50, "the regression corpus is there")
        var events = 0
        for input in Self.inputs {
            let first = input.withUnsafeBytes { KeycloakEventLine.parse($0) }
            let second = input.withUnsafeBytes { KeycloakEventLine.parse($0) }
            #expect(first == second)
            if case .event(let event) = first {
                events += 1
                #expect(!event.type.isEmpty && !event.realm.isEmpty)
            }
        }
        #expect(events > 0, "some kept inputs are events")
    }
}
