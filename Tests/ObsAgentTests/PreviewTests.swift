import Foundation
import Testing

/// Debian's chromium, which scripts/test installs.
enum Chromium {
    static var path: String? {
        ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}

/// `obsctl preview` in a real browser: the agent ships a stand-in service's metrics to the local
/// endpoint, preview renders the six dashboards from what landed, and headless Chromium loads each
/// page. From the DOM it leaves (with the places the browser laid each widget out at): every
/// widget of the dashboard JSON is there, in its place; every metric widget drew its series or says
/// why not; and the screenshots are pictures, not blank pages.
@Suite(
    .enabled(
        if: TestServices.hasBinary && TestServices.hasAWS && Obsctl.isBuilt && Chromium.path != nil,
        "needs obs-agent, obsctl, the local AWS endpoint and chromium"),
    .serialized)
struct PreviewTests {

    /// A widget as the browser left it.
    struct Placed {
        var attributes: [String: String]
        var content: String
        func int(_ name: String) -> Int { Int(attributes[name] ?? "") ?? -1 }
    }

    static func widgets(in dom: String) -> [Placed] {
        var out: [Placed] = []
        for part in dom.components(separatedBy: "<section ").dropFirst() {
            guard let end = part.firstIndex(of: ">") else { continue }
            var attributes: [String: String] = [:]
            var rest = part[..<end]
            while let equals = rest.firstIndex(of: "=") {
                let name = rest[..<equals].split(separator: " ").last.map(String.init) ?? ""
                let open = rest.index(after: equals)
                guard open < rest.endIndex, rest[open] == "\"",
                    let close = rest[rest.index(after: open)...].firstIndex(of: "\"")
                else { break }
                attributes[name] = String(rest[rest.index(after: open)..<close])
                rest = rest[rest.index(after: close)...]
            }
            let content = part[part.index(after: end)...].components(separatedBy: "</section>").first ?? ""
            out.append(Placed(attributes: attributes, content: content))
        }
        return out
    }

    @Test func everyDashboardRendersInABrowserAsItsJSONSays() async throws {
        let (standIn, port) = try await CostEndToEndTests.standIn(realm: "ecom")
        defer { standIn.stop() }
        let region = "eu-south-2"
        let config = try await CostEndToEndTests.ship(
            service: "web-\(UInt32.random(in: 0...UInt32.max))", port: port, region: region)
        var environment = TestServices.awsEnvironment
        environment["AWS_REGION"] = region

        let pages = TestServices.temporaryDirectory("preview")
        let shots = TestServices.temporaryDirectory("preview-png")
        let json = TestServices.temporaryDirectory("preview-json")
        let (status, out, err) = try await ChildProcess.run(
            Obsctl.path,
            [
                "preview", "--config", config, "--output", pages, "--hours", "1", "--period", "10", "--png", shots,
            ],
            environment: TestServices.cleanEnvironment(environment), timeout: 300)
        #expect(status == 0, "\(out)\(err)")
        #expect(out.contains("file://"), "the page's address is printed")
        let (jsonStatus, _, jsonErr) = try await ChildProcess.run(
            Obsctl.path, ["dashboards", "--config", config, "--output", json, "--region", region],
            environment: TestServices.cleanEnvironment())
        #expect(jsonStatus == 0, "\(jsonErr)")

        var drawn: [String: Int] = [:]
        for id in ["overview", "api", "connection-pools", "database", "authentication", "agent-health"] {
            let (domStatus, dom, domErr) = try await ChildProcess.run(
                Chromium.path ?? "chromium",
                [
                    "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1600,2600",
                    "--virtual-time-budget=5000", "--dump-dom", "file://\(pages)/\(id).html",
                ],
                environment: TestServices.cleanEnvironment(), timeout: 120)
            #expect(domStatus == 0, "\(domErr)")
            #expect(dom.contains("data-laid-out=\"yes\""), "\(id): the page loaded and laid out")
            let body = try #require(
                try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(json)/\(id).json")))
                    as? [String: Any])
            let expected = body["widgets"] as? [[String: Any]] ?? []
            let placed = Self.widgets(in: dom)
            #expect(placed.count == expected.count, "\(id): every widget of the JSON is on the page")
            for (widget, page) in zip(expected, placed) {
                let properties = widget["properties"] as? [String: Any] ?? [:]
                #expect(page.attributes["data-type"] == widget["type"] as? String, "\(id)")
                for key in ["x", "y", "width", "height"] {
                    #expect(
                        page.int("data-\(key)") == widget[key] as? Int, "\(id): \(key) of \(properties["title"] ?? "")")
                }
                if let title = properties["title"] as? String {
                    #expect(page.attributes["data-title"] == title.replacingOccurrences(of: "\"", with: "&quot;"))
                }
                guard widget["type"] as? String == "metric" else { continue }
                switch page.attributes["data-state"] {
                case "drawn":
                    drawn[id, default: 0] += 1
                    #expect(page.content.contains("<polyline") || page.content.contains("<circle"), "\(id)")
                case "not-computed", "no-data":
                    #expect(page.content.contains("class=\"label"), "\(id): a widget without a line says why")
                default:
                    Issue.record("\(id): \(page.attributes["data-title"] ?? "") has no state")
                }
            }
            // Where the browser put them: the grid's order holds (same column, same left edge; a
            // later row, further down; a wider widget, wider on the page).
            for a in placed {
                for b in placed {
                    if a.int("data-x") == b.int("data-x") { #expect(abs(a.int("data-left") - b.int("data-left")) <= 2) }
                    if a.int("data-y") == b.int("data-y") { #expect(abs(a.int("data-top") - b.int("data-top")) <= 2) }
                    if a.int("data-y") < b.int("data-y") { #expect(a.int("data-top") < b.int("data-top"), "\(id)") }
                    if a.int("data-width") > b.int("data-width") { #expect(a.int("data-w") > b.int("data-w"), "\(id)") }
                }
            }
            let png = try Data(contentsOf: URL(fileURLWithPath: "\(shots)/\(id).png"))
            #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]), "\(id).png is a PNG")
            #expect(png.count > 40_000, "\(id).png is a picture, not a blank page (\(png.count) bytes)")
        }
        // What the stand-in service sends is drawn: its requests, pools and scrapes.
        #expect((drawn["api"] ?? 0) >= 3, "\(drawn)")
        #expect((drawn["connection-pools"] ?? 0) >= 4, "\(drawn)")
        #expect((drawn["overview"] ?? 0) >= 3, "\(drawn)")
        #expect((drawn["agent-health"] ?? 0) >= 2, "\(drawn)")
        #expect((drawn["authentication"] ?? 0) >= 2, "\(drawn)")
    }
}
