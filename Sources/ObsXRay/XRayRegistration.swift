import ObsCatalog
import ObsCore
import ObsSource

extension XRaySource: Source {
    public var name: String { "xray(\(settings.host):\(port))" }

    /// `run` handed on what was still batched; this waits until it is in the spool (the shippers,
    /// which stop after the sources, send it).
    public func finish(within seconds: Double) async {
        flushDelivery()
    }
}

extension XRaySource {
    /// The API metrics segments yield (the error rate needs every request, so only a scrape has it).
    package static let metrics = APIMetrics.all.filter { $0.id != APIMetrics.errorRate.id }

    /// `sources.xray`: the X-Ray daemon stand-in (docs/CONFIG.md).
    package static let registration = SourceRegistration<Settings>(
        key: "xray", metrics: metrics,
        parse: { (node, _) throws(ConfigError) -> Settings in
            let keys = try node.mapping(allowed: ["address", "receive_buffer_bytes", "batch_delay", "api_metrics"])
            var settings = Settings()
            if let v = keys["api_metrics"] { settings.apiMetrics = try v.bool() }
            if let v = keys["address"] {
                let text = try v.string()
                guard let (host, port) = Settings.parseAddress(text) else {
                    throw ConfigError(v.path, "expected host:port (such as 0.0.0.0:2000 or [::]:2000), got \"\(text)\"")
                }
                (settings.host, settings.port) = (host, port)
            }
            if let v = keys["receive_buffer_bytes"] {
                settings.receiveBufferBytes = try v.bytes(in: (64 << 10)...(1 << 30))
            }
            if let v = keys["batch_delay"] { settings.batchDelay = try v.seconds(in: 0.01...60) }
            return settings
        },
        emitted: { settings in settings.apiMetrics ? metrics : [] },
        needs: { _ in [SignalNeed(.traces, key: "sources.xray", what: "sending trace segments to X-Ray")] },
        describe: { settings in "\(settings.host):\(settings.port)" },
        make: { (settings, context) throws(ConfigError) -> [any Source] in
            guard let traces = context.traces else { throw ConfigError("sources.xray", "no route for trace segments") }
            do {
                return [
                    try XRaySource(
                        settings: settings, recorder: context.recorder, logger: context.logger,
                        flushDelivery: { traces.flush() },
                        deliver: { traces.publish($0) })
                ]
            } catch {
                throw ConfigError("sources.xray.address", "\(error)")
            }
        })
}
