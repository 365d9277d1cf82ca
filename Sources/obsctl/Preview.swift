import ArgumentParser
import Foundation
import ObsAWS
import ObsAgent
import ObsCatalog
import ObsCore

extension ObsctlCommand {
    struct Preview: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Render the generated dashboards as local web pages, filled with data from CloudWatch.",
            discussion: """
                Writes one HTML page per dashboard (and index.html) to --output: the same widget grid, \
                titles, units, text and alarm widgets as the dashboard JSON obsctl dashboards makes, each \
                metric widget drawn from the series its SEARCH expressions find at the endpoint \
                (ListMetrics, then GetMetricStatistics for each series; metric math evaluated over them), \
                for the last --hours. The endpoint and credentials are found as the agent finds them \
                (AWS_ENDPOINT_URL_CLOUDWATCH, AWS_ENDPOINT_URL, the SDKs' credential chain): real \
                CloudWatch, or a local endpoint. A local endpoint (any endpoint URL given) computes no \
                CloudWatch percentile from the agent's Values/Counts and answers a query with every \
                datum whose dimensions include the query's: preview subtracts the more detailed series \
                from sums and counts, and a percentile says on its widget that this endpoint cannot \
                compute it, never a number. Per-service dashboards show the first service found (the \
                console's default). --png DIR also writes one screenshot per dashboard with headless \
                Chromium.
                """)

        @OptionGroup var target: CloudWatchTarget

        @Option(help: ArgumentHelp("Directory to write the pages to.", valueName: "dir"))
        var output: String = "preview"

        @Option(help: "Hours of data to draw, up to now.")
        var hours: Double = 3

        @Option(help: "Seconds a point stands for (default: each widget's period, 60).")
        var period: Int?

        @Option(help: ArgumentHelp("Also write one PNG per dashboard here (needs chromium).", valueName: "dir"))
        var png: String?

        func run() async throws {
            let (client, region) = try target.client()
            let environment = ProcessInfo.processInfo.environment
            let settings = AWSSettings.resolve(environment: environment, configRegion: target.region)
            let local = settings.explicitEndpoints[.cloudWatch] != nil
            let deployment = try Deployment(config: target.config)
            let alarms = AlarmGenerator(targets: deployment.targets)
            let generator = DashboardGenerator(
                catalog: SourceRegistry.catalog, region: region, alarms: alarms,
                apiRoutes: deployment.config.apiRoutes)
            let end = Date()
            let reader = MetricReader(
                client: client, target: target, local: local, start: end.addingTimeInterval(-hours * 3600), end: end)
            let states = await reader.alarmStates()
            try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
            var pages: [(DashboardID, String, Int)] = []
            for id in DashboardID.allCases {
                let body = generator.body(for: id)
                let page = PreviewPage(
                    id: id, body: body, reader: reader, catalog: SourceRegistry.catalog, alarmStates: states,
                    period: period, endpoint: local ? "local endpoint" : "CloudWatch \(region)")
                let html = try await page.html()
                let path = (output as NSString).appendingPathComponent("\(id.rawValue).html")
                try Data(html.utf8).write(to: URL(fileURLWithPath: path))
                pages.append((id, path, page.height))
            }
            let index = PreviewPage.index(pages.map { ($0.0, "\($0.0.rawValue).html") })
            let indexPath = (output as NSString).appendingPathComponent("index.html")
            try Data(index.utf8).write(to: URL(fileURLWithPath: indexPath))
            let absolute = URL(fileURLWithPath: indexPath).standardizedFileURL.path
            print("wrote \(pages.count) dashboards: file://\(absolute)")
            if let png {
                try FileManager.default.createDirectory(atPath: png, withIntermediateDirectories: true)
                for (id, path, height) in pages {
                    let shot = (png as NSString).appendingPathComponent("\(id.rawValue).png")
                    try Screenshot.take(
                        page: URL(fileURLWithPath: path).standardizedFileURL.path, to: shot, height: height)
                    print("wrote \(shot)")
                }
            }
        }
    }
}

/// Headless Chromium's screenshot of a page.
enum Screenshot {
    static func browser() -> String? {
        for path in ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
        where FileManager.default.isExecutableFile(atPath: path) {
            return path
        }
        return nil
    }

    static func take(page: String, to file: String, width: Int = 1600, height: Int = 2600) throws {
        guard let browser = browser() else { throw ValidationError("--png needs chromium (apt install chromium)") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: browser)
        process.arguments = [
            "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=\(width),\(height)",
            "--screenshot=\(URL(fileURLWithPath: file).standardizedFileURL.path)", "file://\(page)",
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ValidationError("chromium could not take a screenshot of \(page)")
        }
    }
}

/// A tiny XML tree, enough for the query protocol's answers (elements and text; attributes and
/// declarations skipped).
struct XMLElement {
    var name: String
    var text = ""
    var children: [XMLElement] = []

    func child(_ name: String) -> XMLElement? { children.first { $0.name == name } }
    func all(_ name: String) -> [XMLElement] { children.filter { $0.name == name } }
    /// The element at a path of names below this one.
    func at(_ path: String...) -> XMLElement? {
        var node: XMLElement? = self
        for name in path { node = node?.child(name) }
        return node
    }

    static func parse(_ xml: String) -> XMLElement {
        var stack = [XMLElement(name: "")]
        var rest = Substring(xml)
        while let open = rest.firstIndex(of: "<") {
            let text = rest[..<open]
            if !text.allSatisfy(\.isWhitespace) { stack[stack.count - 1].text += QueryResponse.unescape(String(text)) }
            guard let close = rest[open...].firstIndex(of: ">") else { break }
            let tag = rest[rest.index(after: open)..<close]
            rest = rest[rest.index(after: close)...]
            if tag.hasPrefix("?") || tag.hasPrefix("!") { continue }
            if tag.hasPrefix("/") {
                guard stack.count > 1 else { continue }
                let done = stack.removeLast()
                stack[stack.count - 1].children.append(done)
                continue
            }
            let selfClosing = tag.hasSuffix("/")
            let name = String(tag.prefix { !$0.isWhitespace && $0 != "/" })
            if selfClosing {
                stack[stack.count - 1].children.append(XMLElement(name: name))
            } else {
                stack.append(XMLElement(name: name))
            }
        }
        while stack.count > 1 {
            let done = stack.removeLast()
            stack[stack.count - 1].children.append(done)
        }
        return stack[0]
    }
}

/// One series found at the endpoint: its dimensions and, per period, its statistics.
struct SeriesData {
    var dimensions: [String: String]
    /// Period start (seconds since the epoch) to statistics.
    var points: [Int: [String: Double]]
}

/// Reads series from the endpoint, each once.
actor MetricReader {
    let client: AWSClient
    let target: CloudWatchTarget
    /// A local endpoint: no percentiles, and dimensions matched as a subset.
    let local: Bool
    let start: Date
    let end: Date
    private var listed: [String: [[String: String]]] = [:]
    private var read: [String: SeriesData] = [:]

    init(client: AWSClient, target: CloudWatchTarget, local: Bool, start: Date, end: Date) {
        self.client = client
        self.target = target
        self.local = local
        self.start = start
        self.end = end
    }

    /// The dimension sets of every series of a metric at the endpoint.
    func list(_ namespace: String, _ name: String) async throws -> [[String: String]] {
        let key = "\(namespace)\u{0}\(name)"
        if let found = listed[key] { return found }
        var found: [[String: String]] = []
        var seen = Set<[String: String]>()
        var token: String?
        repeat {
            var parameters: [String: Any] = ["Namespace": namespace, "MetricName": name]
            if let token { parameters["NextToken"] = token }
            let xml = XMLElement.parse(
                try await target.send(
                    client, QueryRequest(action: "ListMetrics", version: Generated.apiVersion, parameters: parameters)))
            let result = xml.at("ListMetricsResponse", "ListMetricsResult")
            for member in result?.child("Metrics")?.all("member") ?? [] {
                var dimensions: [String: String] = [:]
                for dimension in member.child("Dimensions")?.all("member") ?? [] {
                    dimensions[dimension.child("Name")?.text ?? ""] = dimension.child("Value")?.text ?? ""
                }
                if seen.insert(dimensions).inserted { found.append(dimensions) }
            }
            token = result?.child("NextToken")?.text
            if token?.isEmpty == true { token = nil }
        } while token != nil
        listed[key] = found
        return found
    }

    /// The series of a metric with exactly these dimension names (and the fixed values), with
    /// Sum, SampleCount, Maximum and Minimum per period (and `percentiles` where the endpoint
    /// computes them). On a local endpoint, sums and counts are corrected for the more detailed
    /// series its subset matching adds in.
    func series(
        _ namespace: String, _ name: String, dimensions: Set<String>, fixed: [String: String], period: Int,
        percentiles: [String]
    ) async throws -> [SeriesData] {
        let all = try await list(namespace, name)
        var out: [SeriesData] = []
        for dims in all where Set(dims.keys) == dimensions && fixed.allSatisfy({ dims[$0.key] == $0.value }) {
            var data = try await statistics(
                namespace, name, dims, period: period, percentiles: local ? [] : percentiles)
            if local {
                // The endpoint summed in every series whose dimensions include these.
                for more in all where more.count > dims.count && dims.allSatisfy({ more[$0.key] == $0.value }) {
                    let detail = try await statistics(namespace, name, more, period: period, percentiles: [])
                    let exact = try await exactSums(namespace, name, more, all: all, period: period, detail: detail)
                    for (time, values) in exact {
                        for stat in ["Sum", "SampleCount"] {
                            if let value = values[stat], data.points[time]?[stat] != nil {
                                data.points[time]![stat]! -= value
                            }
                        }
                    }
                }
            }
            out.append(data)
        }
        return out
    }

    /// Sums and counts of one series as the endpoint would hold them alone: its answer less the
    /// exact sums of the series below it (recursively).
    private func exactSums(
        _ namespace: String, _ name: String, _ dims: [String: String], all: [[String: String]], period: Int,
        detail: SeriesData
    ) async throws -> [Int: [String: Double]] {
        var points = detail.points
        for more in all where more.count > dims.count && dims.allSatisfy({ more[$0.key] == $0.value }) {
            let below = try await statistics(namespace, name, more, period: period, percentiles: [])
            let exact = try await exactSums(namespace, name, more, all: all, period: period, detail: below)
            for (time, values) in exact {
                for stat in ["Sum", "SampleCount"] {
                    if let value = values[stat], points[time]?[stat] != nil { points[time]![stat]! -= value }
                }
            }
        }
        return points
    }

    private func statistics(
        _ namespace: String, _ name: String, _ dims: [String: String], period: Int, percentiles: [String]
    ) async throws -> SeriesData {
        let key = "\(namespace)\u{0}\(name)\u{0}\(dims.sorted { $0.key < $1.key })\u{0}\(period)\(percentiles)"
        if let data = read[key] { return data }
        let format = ISO8601DateFormatter()
        var parameters: [String: Any] = [
            "Namespace": namespace, "MetricName": name, "StartTime": format.string(from: start),
            "EndTime": format.string(from: end), "Period": period,
            "Statistics": ["Sum", "SampleCount", "Maximum", "Minimum"],
            "Dimensions": dims.sorted { $0.key < $1.key }.map { ["Name": $0.key, "Value": $0.value] },
        ]
        if !percentiles.isEmpty { parameters["ExtendedStatistics"] = percentiles }
        let xml = XMLElement.parse(
            try await target.send(
                client,
                QueryRequest(action: "GetMetricStatistics", version: Generated.apiVersion, parameters: parameters)))
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        var points: [Int: [String: Double]] = [:]
        let members =
            xml.at("GetMetricStatisticsResponse", "GetMetricStatisticsResult", "Datapoints")?.all("member") ?? []
        for member in members {
            guard let stamp = member.child("Timestamp")?.text,
                let date = format.date(from: stamp) ?? fractional.date(from: stamp)
            else { continue }
            var values: [String: Double] = [:]
            for stat in ["Sum", "SampleCount", "Maximum", "Minimum", "Average"] {
                if let v = member.child(stat).flatMap({ Double($0.text) }) { values[stat] = v }
            }
            for entry in member.child("ExtendedStatistics")?.all("entry") ?? [] {
                if let k = entry.child("key")?.text, let v = entry.child("value").flatMap({ Double($0.text) }) {
                    values[k] = v
                }
            }
            let time = Int(date.timeIntervalSince1970) / period * period
            // One datum a period per series; a second (the endpoint lists a metric once per put) adds up.
            if var existing = points[time] {
                existing["Sum"] = (existing["Sum"] ?? 0) + (values["Sum"] ?? 0)
                existing["SampleCount"] = (existing["SampleCount"] ?? 0) + (values["SampleCount"] ?? 0)
                existing["Maximum"] = max(existing["Maximum"] ?? -.infinity, values["Maximum"] ?? -.infinity)
                existing["Minimum"] = min(existing["Minimum"] ?? .infinity, values["Minimum"] ?? .infinity)
                points[time] = existing
            } else {
                points[time] = values
            }
        }
        let data = SeriesData(dimensions: dims, points: points)
        read[key] = data
        return data
    }

    /// The state of each alarm at the endpoint, by name (empty when it cannot say).
    func alarmStates() async -> [String: String] {
        var states: [String: String] = [:]
        var token: String?
        repeat {
            var parameters: [String: Any] = ["AlarmNamePrefix": "obs-"]
            if let token { parameters["NextToken"] = token }
            guard
                let text = try? await target.send(
                    client,
                    QueryRequest(action: "DescribeAlarms", version: Generated.apiVersion, parameters: parameters))
            else { return states }
            let result = XMLElement.parse(text).at("DescribeAlarmsResponse", "DescribeAlarmsResult")
            for kind in ["MetricAlarms", "CompositeAlarms"] {
                for member in result?.child(kind)?.all("member") ?? [] {
                    states[member.child("AlarmName")?.text ?? ""] = member.child("StateValue")?.text ?? ""
                }
            }
            token = result?.child("NextToken")?.text
            if token?.isEmpty == true { token = nil }
        } while token != nil
        return states
    }

    /// The first value of a dimension among a metric's series (the console's `__FIRST`).
    func firstValue(_ namespace: String, _ name: String, dimensions: Set<String>, of dimension: String) async throws
        -> String?
    {
        try await list(namespace, name).filter { Set($0.keys) == dimensions }.compactMap { $0[dimension] }.sorted()
            .first
    }
}
