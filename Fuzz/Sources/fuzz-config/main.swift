import FuzzSupport
import ObsAgent

/// The config loader: any bytes as a YAML config, with a few variables set.
let environment = ["DB_PASSWORD": "secret", "OBS_FLUSH_INTERVAL": "30s", "EMPTY": ""]
runFuzzer { bytes in
    _ = try? AgentConfig.parse(yaml: String(decoding: bytes, as: UTF8.self), environment: environment)
}
