import ObsCore

/// One `sources.prometheus` entry: a service whose instances expose metrics over HTTP, how to
/// find them and how to scrape them. Documented key by key in docs/CONFIG.md.
public struct ScrapeJob: Sendable {
    /// How the instances are found.
    public enum Discovery: Sendable, Equatable {
        /// Fixed URLs.
        case urls([String])
        /// Every A/AAAA address of a host name, on one port (a headless service, an ECS service's
        /// Cloud Map name with A records).
        case dnsA(host: String, port: Int)
        /// The SRV records of a name (`_user-service._tcp.ecom.local`): each record's target and port.
        case dnsSRV(String)
    }

    /// The Service dimension of what the instances yield.
    package var service: String
    package var discovery: Discovery
    /// For discovered instances: `http` or `https`.
    package var scheme = "http"
    /// For discovered instances: the metrics path.
    package var path = "/actuator/prometheus"
    /// `agent.shard`: only the instances this replica owns are scraped.
    package var shard: Shard?
    /// Seconds between scrapes.
    package var interval: Double = 15
    /// The longest one scrape may take, in seconds.
    package var timeout: Double = 10
    /// Seconds between DNS lookups of a discovered job.
    package var refreshInterval: Double = 30
    /// A file holding a bearer token, read at every scrape (so a rotated token is picked up).
    package var bearerTokenFile: String?
    /// Basic authentication: the user name, and a file holding the password.
    package var basicUsername: String?
    package var basicPasswordFile: String?
    /// A PEM bundle of CA certificates for https targets (else the system's).
    package var caFile: String?
    /// The DNS server for SRV lookups, `host:port` (else the first nameserver of /etc/resolv.conf).
    package var dnsServer: String?
    /// The largest body accepted from a target.
    package var maxResponseBytes = 32 << 20

    package init(service: String, discovery: Discovery) {
        self.service = service
        self.discovery = discovery
    }

    /// The URL of an instance at `host:port`.
    func url(host: String, port: Int) -> String {
        let shown = host.contains(":") ? "[\(host)]" : host
        return "\(scheme)://\(shown):\(port)\(path.hasPrefix("/") ? path : "/" + path)"
    }
}
