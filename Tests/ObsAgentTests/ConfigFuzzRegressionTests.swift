import Foundation
import ObsAgent
import ObsSource
import Testing

/// The inputs libFuzzer found that add coverage (Fuzz/regressions/fuzz-config.b64, kept by
/// `KEEP=1 Fuzz/run`), replayed through the config loader: each is a config or one clear error
/// line naming where, the same both times.
struct ConfigFuzzRegressionTests {
    static let inputs: [String] = {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
            "../../Fuzz/regressions/fuzz-config.b64"
        ).path
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap {
            Data(base64Encoded: String($0)).map { String(decoding: $0, as: UTF8.self) }
        }
    }()

    @Test func everyKeptInputIsAConfigOrOneClearErrorLine() {
        #expect(Self.inputs.count > 50, "the regression corpus is there")
        let environment = ["DB_PASSWORD": "secret", "OBS_FLUSH_INTERVAL": "30s", "EMPTY": ""]
        var errors = 0
        for input in Self.inputs {
            let first = Result { () throws(ConfigError) -> AgentConfig in
                try AgentConfig.parse(yaml: input, environment: environment)
            }
            let second = Result { () throws(ConfigError) -> AgentConfig in
                try AgentConfig.parse(yaml: input, environment: environment)
            }
            switch (first, second) {
            case (.failure(let a), .failure(let b)):
                errors += 1
                #expect(a == b)
                #expect(!a.message.isEmpty && !a.description.contains("\n"), "one line: \(a.description)")
                #expect(!a.description.contains("secret"), "no value of a secret variable")
            case (.success, .success):
                break
            default:
                Issue.record("parsed differently twice: \(input.prefix(200))")
            }
        }
        #expect(errors > 0)
    }
}
