import Foundation
import ObsCatalog
import ObsCore

/// One dashboard as an HTML page: the body's widgets on the same 24-column grid, metric widgets
/// as SVG line charts of the series their expressions find. Every widget carries its place and
/// what it drew as `data-` attributes, for tests and scripts.
struct PreviewPage {
    let id: DashboardID
    let body: DashboardBody
    let reader: MetricReader
    let catalog: Catalog
    let alarmStates: [String: String]
    /// Seconds a point stands for, instead of the widgets' own period.
    let period: Int?
    let endpoint: String

    static let palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf"]

    /// What one metric widget drew.
    struct Drawn {
        var lines: [(label: String, points: [(Int, Double)])] = []
        /// Why something is not drawn as a number (a statistic the endpoint cannot compute).
        var notes: [String] = []
    }

    func html() async throws -> String {
        var service: String?
        if let variable = body.variables?.first, let search = Self.parseSearch("SEARCH('\(variable.search)', 'x', 1)") {
            service = try await reader.firstValue(
                search.namespace, search.name, dimensions: search.dimensions, of: variable.populateFrom)
        }
        var widgets = ""
        for widget in body.widgets {
            widgets += try await render(widget, service: service)
        }
        let selector =
            body.variables == nil
            ? ""
            : "<p class=\"variable\">Service: <b data-variable=\"Service\">\(Self.escape(service ?? "none found"))</b></p>"
        return """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><title>obs-\(id.rawValue)</title>
            <style>\(Self.style)</style></head>
            <body><header><h1>obs-\(id.rawValue): \(Self.escape(id.title))</h1>
            <p>Preview of dashboards/\(id.fileName), data from the \(Self.escape(endpoint)), \
            \(Self.escape(Self.stamp(Date()))).</p>\(selector)</header>
            <main class="grid">\(widgets)</main>
            <script>\(Self.measure)</script></body></html>

            """
    }

    /// The page's height in pixels for a screenshot: the header and the grid's rows.
    var height: Int {
        let rows = body.widgets.map { $0.y + $0.height }.max() ?? 0
        return 110 + rows * 52 + 24
    }

    static func index(_ pages: [(DashboardID, String)]) -> String {
        let links = pages.map { "<li><a href=\"\($0.1)\">\(escape($0.0.title))</a></li>" }.joined()
        return """
            <!doctype html><html lang="en"><head><meta charset="utf-8"><title>obs dashboards</title>
            <style>\(style)</style></head><body><header><h1>obs dashboards</h1></header><ul>\(links)</ul></body></html>

            """
    }

    func render(_ widget: DashboardBody.Widget, service: String?) async throws -> String {
        let place =
            "data-type=\"\(widget.type)\" data-x=\"\(widget.x)\" data-y=\"\(widget.y)\" data-width=\"\(widget.width)\" "
            + "data-height=\"\(widget.height)\" style=\"grid-column: \(widget.x + 1) / span \(widget.width); "
            + "grid-row: \(widget.y + 1) / span \(widget.height)\""
        let title = widget.properties.title ?? ""
        switch widget.type {
        case "text":
            return
                "<section class=\"widget text\" \(place) data-state=\"text\">\(Self.markdown(widget.properties.markdown ?? ""))</section>"
        case "alarm":
            let items = (widget.properties.alarms ?? []).map { arn -> String in
                let name = String(arn.split(separator: ":").last ?? "")
                let state = alarmStates[name] ?? "not at the endpoint"
                let css = state == "ALARM" ? "alarm" : (state == "OK" ? "ok" : "unknown")
                return "<li><span class=\"state \(css)\">\(Self.escape(state))</span> \(Self.escape(name))</li>"
            }.joined()
            return """
                <section class="widget alarm" \(place) data-state="alarms" data-title="\(Self.escape(title))">\
                <h2>\(Self.escape(title))</h2><ul>\(items)</ul></section>
                """
        default:
            let drawn = try await draw(widget, service: service)
            let unit = unitLabel(widget)
            let state: String
            var content = ""
            if !drawn.lines.isEmpty {
                state = "drawn"
                content = Self.chart(drawn.lines, unit: unit)
            } else if !drawn.notes.isEmpty {
                state = "not-computed"
            } else {
                state = "no-data"
                content = "<p class=\"label\">No data at the endpoint in this period.</p>"
            }
            let notes = drawn.notes.map { "<p class=\"label note\">\(Self.escape($0))</p>" }.joined()
            return """
                <section class="widget metric" \(place) data-state="\(state)" data-series="\(drawn.lines.count)" \
                data-title="\(Self.escape(title))"><h2>\(Self.escape(title))<span class="unit">\(Self.escape(unit))</span></h2>\
                \(notes)\(content)</section>
                """
        }
    }

    /// The unit of a widget's metrics, from the catalog (a ratio: percent).
    func unitLabel(_ widget: DashboardBody.Widget) -> String {
        let expressions = (widget.properties.metrics ?? []).flatMap { $0 }
        if expressions.contains(where: { !$0.expression.hasPrefix("SEARCH(") }) { return "%" }
        for expression in expressions {
            guard let search = Self.parseSearch(expression.expression),
                let definition = catalog.definitions.first(where: {
                    $0.namespace == search.namespace && $0.name == search.name
                })
            else { continue }
            return definition.unit.rawValue
        }
        return ""
    }

    /// The series of each expression, evaluated as CloudWatch would: SEARCH finds the series,
    /// metric math combines them.
    func draw(_ widget: DashboardBody.Widget, service: String?) async throws -> Drawn {
        var drawn = Drawn()
        let period = self.period ?? widget.properties.period ?? 60
        var results: [String: [(label: String, points: [(Int, Double)])]] = [:]
        for expression in (widget.properties.metrics ?? []).flatMap({ $0 }) {
            let lines: [(label: String, points: [(Int, Double)])]
            if var search = Self.parseSearch(expression.expression) {
                if search.fixed["Service"] == DashboardGenerator.servicePattern {
                    guard let service else {
                        results[expression.id] = []
                        continue
                    }
                    search.fixed["Service"] = service
                }
                if search.statistic.hasPrefix("p"), await reader.local {
                    drawn.notes.append(
                        "\(expression.label): the local endpoint does not compute CloudWatch percentiles from the "
                            + "agent's Values/Counts (CloudWatch does): not drawn.")
                    results[expression.id] = []
                    continue
                }
                let series = try await reader.series(
                    search.namespace, search.name, dimensions: search.dimensions, fixed: search.fixed,
                    period: self.period ?? search.period,
                    percentiles: search.statistic.hasPrefix("p") ? [search.statistic] : [])
                lines = series.map { data in
                    let label =
                        data.dimensions.filter { !search.fixed.keys.contains($0.key) }.sorted { $0.key < $1.key }
                        .map(\.value).joined(separator: " ")
                    let points = data.points.keys.sorted().compactMap { time -> (Int, Double)? in
                        Self.value(data.points[time]!, search.statistic).map { (time, $0) }
                    }
                    return (label.isEmpty ? expression.label : label, points)
                }
            } else {
                lines =
                    Self.evaluate(expression.expression, results, period: period).map {
                        [(expression.label, $0)]
                    } ?? []
            }
            results[expression.id] = lines
            if expression.visible != false { drawn.lines += lines.filter { !$0.points.isEmpty } }
        }
        return drawn
    }

    static func value(_ stats: [String: Double], _ statistic: String) -> Double? {
        switch statistic {
        case "Average":
            guard let sum = stats["Sum"], let count = stats["SampleCount"], count > 0 else { return nil }
            return sum / count
        default: return stats[statistic]
        }
    }

    struct Search {
        var namespace: String
        var name: String
        var dimensions: Set<String>
        var fixed: [String: String]
        var statistic: String
        var period: Int
    }

    /// `SEARCH('{ns,d1,d2} MetricName="N" d1="v"', 'Stat', period)`.
    static func parseSearch(_ expression: String) -> Search? {
        guard expression.hasPrefix("SEARCH('"), let open = expression.firstIndex(of: "{"),
            let close = expression.firstIndex(of: "}")
        else { return nil }
        let schema = expression[expression.index(after: open)..<close].split(separator: ",").map(String.init)
        guard let namespace = schema.first else { return nil }
        var fixed: [String: String] = [:]
        var name = ""
        var rest = expression[expression.index(after: close)...]
        let queryEnd = rest.firstIndex(of: "'") ?? rest.endIndex
        var query = rest[..<queryEnd]
        while let equals = query.firstIndex(of: "=") {
            let key = query[..<equals].trimmingCharacters(in: .whitespaces)
            let afterQuote = query.index(equals, offsetBy: 2, limitedBy: query.endIndex) ?? query.endIndex
            guard let end = query[afterQuote...].firstIndex(of: "\"") else { break }
            let value = String(query[afterQuote..<end])
            if key == "MetricName" { name = value } else { fixed[key] = value }
            query = query[query.index(after: end)...]
        }
        rest = rest[queryEnd...]
        let parts = rest.split(separator: "'")
        let statistic = parts.count > 1 ? String(parts[1]) : "Average"
        let period = Int(
            rest.split(separator: ",").last?.trimmingCharacters(in: CharacterSet(charactersIn: " )")) ?? "")
        return Search(
            namespace: namespace, name: name, dimensions: Set(schema.dropFirst()), fixed: fixed, statistic: statistic,
            period: period ?? 60)
    }

    /// Metric math over earlier expressions: numbers, + - * /, parentheses and SUM(id) (the sum of
    /// that expression's series at each time).
    static func evaluate(
        _ expression: String, _ results: [String: [(label: String, points: [(Int, Double)])]], period: Int
    )
        -> [(Int, Double)]?
    {
        var sums: [String: [Int: Double]] = [:]
        var times = Set<Int>()
        for (id, lines) in results {
            var byTime: [Int: Double] = [:]
            for line in lines { for (t, v) in line.points { byTime[t, default: 0] += v } }
            sums[id] = byTime
            times.formUnion(byTime.keys)
        }
        var out: [(Int, Double)] = []
        for time in times.sorted() {
            var parser = MathParser(text: Array(expression), sums: sums, time: time)
            if let value = parser.parse(), value.isFinite { out.append((time, value)) }
        }
        return out
    }

    struct MathParser {
        var text: [Character]
        var sums: [String: [Int: Double]]
        var time: Int
        var at = 0

        mutating func parse() -> Double? {
            let value = sum()
            return at == text.count ? value : nil
        }

        mutating func sum() -> Double? {
            guard var value = product() else { return nil }
            while at < text.count, text[at] == "+" || text[at] == "-" {
                let op = text[at]
                at += 1
                guard let right = product() else { return nil }
                value = op == "+" ? value + right : value - right
            }
            return value
        }

        mutating func product() -> Double? {
            guard var value = factor() else { return nil }
            while at < text.count, text[at] == "*" || text[at] == "/" {
                let op = text[at]
                at += 1
                guard let right = factor() else { return nil }
                value = op == "*" ? value * right : value / right
            }
            return value
        }

        mutating func factor() -> Double? {
            guard at < text.count else { return nil }
            if text[at] == "(" {
                at += 1
                let value = sum()
                guard at < text.count, text[at] == ")" else { return nil }
                at += 1
                return value
            }
            if text[at].isNumber {
                var digits = ""
                while at < text.count, text[at].isNumber || text[at] == "." {
                    digits.append(text[at])
                    at += 1
                }
                return Double(digits)
            }
            if String(text[at...].prefix(4)) == "SUM(" {
                at += 4
                var id = ""
                while at < text.count, text[at] != ")" {
                    id.append(text[at])
                    at += 1
                }
                at += 1
                // A term with no datum at this time: nothing to combine (as CloudWatch leaves a gap).
                return sums[id]?[time]
            }
            return nil
        }
    }

    /// An SVG line chart: one polyline a series, the y range labelled with the unit, the first and
    /// last times, and a legend.
    static func chart(_ lines: [(label: String, points: [(Int, Double)])], unit: String) -> String {
        let all = lines.flatMap(\.points)
        let t0 = all.map(\.0).min() ?? 0
        let t1 = max(all.map(\.0).max() ?? 1, t0 + 1)
        let low = min(0, all.map(\.1).min() ?? 0)
        var high = all.map(\.1).max() ?? 1
        if high <= low { high = low + 1 }
        let (w, h, left, bottom) = (600.0, 180.0, 56.0, 20.0)
        func x(_ t: Int) -> Double { left + (w - left - 8) * Double(t - t0) / Double(t1 - t0) }
        func y(_ v: Double) -> Double { 6 + (h - bottom - 6) * (1 - (v - low) / (high - low)) }
        var svg =
            "<svg viewBox=\"0 0 \(Int(w)) \(Int(h))\" preserveAspectRatio=\"none\" role=\"img\">"
            + "<line x1=\"\(left)\" y1=\"\(y(low))\" x2=\"\(w - 8)\" y2=\"\(y(low))\" class=\"axis\"/>"
            + "<line x1=\"\(left)\" y1=\"6\" x2=\"\(left)\" y2=\"\(y(low))\" class=\"axis\"/>"
            + "<text x=\"\(left - 4)\" y=\"12\" class=\"tick\" text-anchor=\"end\">\(format(high))</text>"
            + "<text x=\"\(left - 4)\" y=\"\(y(low))\" class=\"tick\" text-anchor=\"end\">\(format(low))</text>"
            + "<text x=\"\(left)\" y=\"\(h - 4)\" class=\"tick\">\(clock(t0, seconds: t1 - t0 < 600))</text>"
            + "<text x=\"\(w - 8)\" y=\"\(h - 4)\" class=\"tick\" text-anchor=\"end\">\(clock(t1, seconds: t1 - t0 < 600))</text>"
        for (n, line) in lines.enumerated() {
            let color = palette[n % palette.count]
            let points = line.points.map { "\(String(cFormat: "%.1f", x($0.0))),\(String(cFormat: "%.1f", y($0.1)))" }
            if points.count == 1 {
                svg += "<circle cx=\"\(x(line.points[0].0))\" cy=\"\(y(line.points[0].1))\" r=\"3\" fill=\"\(color)\"/>"
            } else {
                svg +=
                    "<polyline class=\"series\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\" points=\"\(points.joined(separator: " "))\"/>"
            }
        }
        svg += "</svg>"
        let legend = lines.enumerated().map { n, line in
            "<li><span class=\"swatch\" style=\"background:\(palette[n % palette.count])\"></span>\(escape(line.label))"
                + " <span class=\"last\">\(format(line.points.last?.1 ?? 0))\(unit == "Count" || unit == "None" ? "" : " " + escape(unit))</span></li>"
        }.joined()
        return svg + "<ul class=\"legend\">\(legend)</ul>"
    }

    static func format(_ value: Double) -> String {
        let magnitude = abs(value)
        if magnitude >= 1e9 { return String(cFormat: "%.1fG", value / 1e9) }
        if magnitude >= 1e6 { return String(cFormat: "%.1fM", value / 1e6) }
        if magnitude >= 1e4 { return String(cFormat: "%.1fk", value / 1e3) }
        if magnitude >= 100 || value == value.rounded() { return String(cFormat: "%.0f", value) }
        return String(cFormat: "%.2f", value)
    }

    static func clock(_ time: Int, seconds: Bool = false) -> String {
        let format = DateFormatter()
        format.dateFormat = seconds ? "HH:mm:ss" : "HH:mm"
        format.timeZone = TimeZone(identifier: "UTC")
        return format.string(from: Date(timeIntervalSince1970: Double(time))) + "Z"
    }

    static func stamp(_ date: Date) -> String {
        ISO8601DateFormatter().string(from: date)
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    /// The Markdown the generated text widgets use: headings, lists, bold and code.
    static func markdown(_ text: String) -> String {
        func inline(_ line: String) -> String {
            var out = escape(line)
            for (mark, tag) in [("**", "b"), ("`", "code")] {
                var parts = out.components(separatedBy: mark)
                guard parts.count > 2 else { continue }
                var joined = parts.removeFirst()
                for (n, part) in parts.enumerated() { joined += (n % 2 == 0 ? "<\(tag)>" : "</\(tag)>") + part }
                out = joined
            }
            return out
        }
        var html = ""
        var inList = false
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if line.hasPrefix("- ") {
                if !inList { html += "<ul>" }
                inList = true
                html += "<li>\(inline(String(line.dropFirst(2))))</li>"
                continue
            }
            if inList {
                html += "</ul>"
                inList = false
            }
            if line.hasPrefix("## ") {
                html += "<h3>\(inline(String(line.dropFirst(3))))</h3>"
            } else if line.hasPrefix("# ") {
                html += "<h2>\(inline(String(line.dropFirst(2))))</h2>"
            } else if !line.isEmpty {
                html += "<p>\(inline(line))</p>"
            }
        }
        if inList { html += "</ul>" }
        return html
    }

    /// Once laid out, each widget's place on the page as `data-` attributes (what a test reads back
    /// from the browser's DOM).
    static let measure = """
        addEventListener('load', () => { for (const w of document.querySelectorAll('.widget')) { \
        const r = w.getBoundingClientRect(); w.dataset.left = Math.round(r.left); w.dataset.top = Math.round(r.top); \
        w.dataset.w = Math.round(r.width); w.dataset.h = Math.round(r.height); } document.body.dataset.laidOut = 'yes'; });
        """

    static let style = """
        body{font-family:Helvetica,Arial,sans-serif;margin:0;background:#f2f3f3;color:#16191f}
        header{padding:8px 16px;background:#232f3e;color:#fff}header h1{font-size:18px;margin:4px 0}
        header p{margin:2px 0;font-size:12px;color:#d5dbdb}.variable b{color:#fff}
        .grid{display:grid;grid-template-columns:repeat(24,1fr);grid-auto-rows:44px;gap:8px;padding:12px}
        .widget{background:#fff;border:1px solid #d5dbdb;border-radius:4px;padding:6px 10px;overflow:hidden;font-size:12px}
        .widget h2{font-size:13px;margin:0 0 4px}.unit{color:#687078;font-weight:normal;margin-left:6px}
        .widget.text h2{font-size:16px}.widget.text h3{font-size:13px;margin:4px 0}.widget.text p{margin:3px 0}
        svg{width:100%;height:62%}.axis{stroke:#aab7b8}.tick{font-size:10px;fill:#687078}
        .legend{list-style:none;margin:2px 0;padding:0;display:flex;flex-wrap:wrap;gap:2px 12px;font-size:11px}
        .swatch{display:inline-block;width:10px;height:10px;margin-right:4px}.last{color:#687078}
        .label{color:#687078;font-style:italic}.note{color:#8a6d00}
        .state{display:inline-block;min-width:60px;padding:1px 4px;border-radius:3px;font-size:10px;color:#fff;background:#879596}
        .state.ok{background:#1d8102}.state.alarm{background:#d13212}.alarm ul{list-style:none;padding:0;margin:0}
        """
}
