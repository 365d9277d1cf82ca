import Dispatch
import FoundationEssentials
import Logging
import ObsCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The Prometheus source: one job (a service), its instances found statically or in DNS and
/// re-resolved every `refreshInterval`, each scraped every `interval`, all of a round at once.
///
/// Delivery guarantee: none of its own; what it records goes through the recorder and the
/// aggregator like every observation. A failed scrape (no answer, an HTTP error, a body that does
/// not parse) records nothing, is counted (`scrape_failed`) and shows as ScrapeUp 0; the next good
/// scrape's counter deltas cover the gap. A failed DNS lookup keeps the instances found before.
public final class PrometheusSource: Sendable {
    package let job: ScrapeJob
    private let recorder: Recorder
    private let logger: Logger
    private let onSecret: @Sendable (String) -> Void
    private let executor: BlockingExecutor
    private let instances = Mutex<[String: ScrapeInstance]>([:])

    package init(
        job: ScrapeJob, recorder: Recorder, logger: Logger, onSecret: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.job = job
        self.recorder = recorder
        var logger = logger
        logger[metadataKey: "source"] = "prometheus"
        logger[metadataKey: "scrape.service"] = "\(job.service)"
        self.logger = logger
        self.onSecret = onSecret
        self.executor = BlockingExecutor(label: "obs.dns.\(job.service)")
        if case .urls(let urls) = job.discovery { update(urls) }
    }

    /// The URLs scraped now.
    package var urls: [String] { instances.withLock { $0.keys.sorted() } }

    /// Scrapes every `interval` until the task is cancelled, resolving the instances again every
    /// `refreshInterval`.
    public func run() async {
        var nextRefresh = 0.0
        while !Task.isCancelled {
            let start = Self.now()
            if start >= nextRefresh {
                await refresh()
                nextRefresh = start + job.refreshInterval
            }
            await scrapeAll()
            let elapsed = Self.now() - start
            try? await Task.sleep(for: .seconds(max(0.05, job.interval - elapsed)))
        }
    }

    /// One scrape of every instance, concurrently. Returns how many succeeded.
    @discardableResult
    package func scrapeAll() async -> Int {
        let current = instances.withLock { Array($0.values) }
        return await withTaskGroup(of: Bool.self) { group in
            for instance in current {
                group.addTask {
                    if case .success = await instance.scrape() { return true }
                    return false
                }
            }
            var succeeded = 0
            for await ok in group where ok { succeeded += 1 }
            return succeeded
        }
    }

    /// For `obs-agent check`: finds the instances and scrapes each once into a throwaway
    /// recorder. Returns one line per instance (or one for a failed lookup).
    package func check() async -> [(target: String, ok: Bool, detail: String)] {
        let found = await lookup()
        let urls: [String]
        switch found {
        case .success(let list): urls = list
        case .failure(let error): return [("\(job.service) discovery", false, error.description)]
        }
        if urls.isEmpty { return [("\(job.service) discovery", false, "no instances found")] }
        var lines: [(target: String, ok: Bool, detail: String)] = []
        var quiet = logger
        quiet.logLevel = .critical
        for url in urls {
            let instance = ScrapeInstance(url: url, job: job, recorder: Recorder(), logger: quiet, onSecret: onSecret)
            switch await instance.scrape() {
            case .success(let result):
                lines.append(
                    (
                        instance.target, true,
                        "\(result.samples) samples, \(result.mapped) of them mapped to catalog metrics"
                    ))
            case .failure(let failure):
                lines.append((instance.target, false, failure.description))
            }
        }
        return lines
    }

    /// Looks the instances up again (for DNS discovery) and keeps the set in step: new URLs get an
    /// instance, URLs no longer listed are dropped with their counter state.
    package func refresh() async {
        let found = await lookup()
        switch found {
        case .success(let urls):
            if urls.isEmpty { logger.warning("discovery found no instances") }
            update(urls)
        case .failure(let error):
            recorder.selfMetrics.count(.scrapeFailed)
            logger.warning("discovery failed; keeping the instances found before", metadata: ["error": "\(error)"])
        }
    }

    /// Whether this replica scrapes `url` (all of them unless `agent.shard` splits the targets).
    package func owns(_ url: String) -> Bool {
        job.shard?.owns("\(job.service) \(url)") ?? true
    }

    private func update(_ found: [String]) {
        let urls = found.filter(owns)
        if let shard = job.shard, urls.count != found.count {
            logger.debug(
                "shard \(shard): scraping \(urls.count) of \(found.count) instances",
                metadata: ["shard": "\(shard)"])
        }
        let (added, removed) = instances.withLock { instances -> ([String], [String]) in
            let wanted = Set(urls)
            let removed = instances.keys.filter { !wanted.contains($0) }
            for url in removed { instances[url] = nil }
            var added: [String] = []
            for url in urls where instances[url] == nil {
                instances[url] = ScrapeInstance(
                    url: url, job: job, recorder: recorder, logger: logger, onSecret: onSecret)
                added.append(url)
            }
            return (added, removed)
        }
        if !added.isEmpty || !removed.isEmpty {
            logger.info("scrape targets changed", metadata: ["added": "\(added)", "removed": "\(removed)"])
        }
    }

    /// The job's URLs now, looked up on the executor's thread (DNS calls block).
    private func lookup() async -> Result<[String], DNSResolver.Failure> {
        let job = self.job
        return await executor.run { () -> Result<[String], DNSResolver.Failure> in
            do throws(DNSResolver.Failure) {
                return .success(try Self.resolve(job))
            } catch {
                return .failure(error)
            }
        }
    }

    /// The URLs a job's discovery yields now.
    static func resolve(_ job: ScrapeJob) throws(DNSResolver.Failure) -> [String] {
        switch job.discovery {
        case .urls(let urls):
            return urls
        case .dnsA(let host, let port):
            return try DNSResolver.addresses(host).map { job.url(host: $0, port: port) }
        case .dnsSRV(let name):
            let server = job.dnsServer.flatMap(Self.hostPort)
            let records = try DNSResolver(server: server).services(name)
            var urls: [String] = []
            for record in records.sorted(by: { ($0.priority, $0.target, $0.port) < ($1.priority, $1.target, $1.port) })
            {
                let addresses = try DNSResolver.addresses(record.target)
                for address in addresses.isEmpty ? [record.target] : addresses {
                    let url = job.url(host: address, port: record.port)
                    if !urls.contains(url) { urls.append(url) }
                }
            }
            return urls
        }
    }

    /// `host:port` or `[v6]:port`.
    package static func hostPort(_ text: String) -> (host: String, port: Int)? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (1...65535).contains(port)
        else {
            return nil
        }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return host.isEmpty ? nil : (host, port)
    }

    private static func now() -> Double {
        Double(DispatchTime.now().uptimeNanoseconds) / 1e9
    }
}
