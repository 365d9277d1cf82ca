import ObsCatalog
import ObsCore
import ObsNet
import ObsSource

extension EMFSource: Source {
    public var name: String { "emf(\(settings.host):\(port))" }

    /// Every event is recorded as it is read: nothing is held back.
    public func finish(within seconds: Double) async {}
}

extension EMFSource {
    /// `sources.emf`: the EMF listener (docs/CONFIG.md).
    package static let registration = SourceRegistration<Settings>(
        key: "emf", metrics: EMFMetrics.all,
        parse: { (node, _) throws(ConfigError) -> Settings in
            let keys = try node.mapping(allowed: [
                "address", "tcp", "udp", "max_metrics", "max_event_bytes", "namespaces",
            ])
            var settings = Settings()
            if let v = keys["address"] {
                let text = try v.string()
                guard let (host, port) = SocketAddress.parse(text) else {
                    throw ConfigError(
                        v.path, "expected host:port (such as 0.0.0.0:25888 or [::]:25888), got \"\(text)\"")
                }
                (settings.host, settings.port) = (host, port)
            }
            if let v = keys["tcp"] { settings.tcp = try v.bool() }
            if let v = keys["udp"] { settings.udp = try v.bool() }
            guard settings.tcp || settings.udp else { throw ConfigError(node.path, "turn on tcp, udp or both") }
            if let v = keys["max_metrics"] { settings.maxMetrics = try v.int(in: 1...100_000) }
            if let v = keys["max_event_bytes"] { settings.maxEventBytes = try v.bytes(in: 1024...(1 << 20)) }
            if let v = keys["namespaces"] {
                settings.namespaces = try v.names()
                for (index, namespace) in settings.namespaces.enumerated()
                where namespace.utf8.count > 255 || namespace.hasPrefix("AWS/") {
                    throw ConfigError(
                        "\(v.path)[\(index)]",
                        "a namespace is 1 to 255 characters and does not start with AWS/, got \"\(namespace)\"")
                }
            }
            return settings
        },
        namespaces: { settings in settings.namespaces.isEmpty ? ["*"] : settings.namespaces },
        describe: { settings in
            "\(settings.host):\(settings.port)\(settings.tcp ? " tcp" : "")\(settings.udp ? " udp" : "")"
        },
        make: { (settings, context) throws(ConfigError) -> [any Source] in
            do {
                return [try EMFSource(settings: settings, recorder: context.recorder, logger: context.logger)]
            } catch {
                throw ConfigError("sources.emf.address", "emf: \(error)")
            }
        })
}
