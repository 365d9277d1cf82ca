import ObsCatalog
import ObsCore
import ObsNet
import ObsSource

extension StatsDSource: Source {
    public var name: String { "statsd(\(settings.host):\(port))" }

    /// Every line is recorded as it is read: nothing is held back.
    public func finish(within seconds: Double) async {}
}

extension StatsDSource {
    /// `sources.statsd`: the StatsD listener (docs/CONFIG.md).
    package static let registration = SourceRegistration<Settings>(
        key: "statsd", metrics: StatsDMetrics.all,
        parse: { (node, context) throws(ConfigError) -> Settings in
            let keys = try node.mapping(allowed: ["address", "namespace", "max_metrics", "receive_buffer_bytes"])
            var settings = Settings()
            settings.flushInterval = context.flushInterval
            if let v = keys["address"] {
                let text = try v.string()
                guard let (host, port) = SocketAddress.parse(text) else {
                    throw ConfigError(v.path, "expected host:port (such as 0.0.0.0:8125 or [::]:8125), got \"\(text)\"")
                }
                (settings.host, settings.port) = (host, port)
            }
            if let v = keys["namespace"] {
                let namespace = try v.string()
                guard StatsDLine.isValidName(namespace, limit: 255), !namespace.hasPrefix("AWS/") else {
                    throw ConfigError(
                        v.path, "a namespace is 1 to 255 characters and does not start with AWS/, got \"\(namespace)\"")
                }
                settings.namespace = namespace
            }
            if let v = keys["max_metrics"] { settings.maxMetrics = try v.int(in: 1...100_000) }
            if let v = keys["receive_buffer_bytes"] {
                settings.receiveBufferBytes = try v.bytes(in: (64 << 10)...(1 << 30))
            }
            return settings
        },
        namespaces: { settings in [settings.namespace] },
        describe: { settings in "\(settings.host):\(settings.port) -> \(settings.namespace)" },
        make: { (settings, context) throws(ConfigError) -> [any Source] in
            do {
                return [try StatsDSource(settings: settings, recorder: context.recorder, logger: context.logger)]
            } catch {
                throw ConfigError("sources.statsd.address", "statsd: \(error)")
            }
        })
}
