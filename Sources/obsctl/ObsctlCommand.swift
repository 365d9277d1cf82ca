import ArgumentParser
import Foundation
import ObsCatalog

@main
struct ObsctlCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "obsctl",
        abstract: "Generate CloudWatch dashboards and docs from the metric catalog obs-agent uses.",
        discussion: """
            Everything obsctl writes comes from the same catalog the agent emits from, so dashboards \
            cannot name a metric or dimension the agent does not send. Generated files are checked in \
            (dashboards/, docs/metrics.md); `--check` fails when a checked-in file is stale.
            """,
        subcommands: [CatalogCommand.self, Dashboards.self])
}

extension ObsctlCommand {
    struct CatalogCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "catalog", abstract: "List the catalog's metrics (tab-separated, or Markdown for docs/metrics.md).")

        @Option(help: "Output format: table or markdown.")
        var format: String = "table"

        func run() throws {
            switch format {
            case "table": print(CatalogDocument.table(.builtIn), terminator: "")
            case "markdown": print(CatalogDocument.markdown(.builtIn), terminator: "")
            default: throw ValidationError("--format must be table or markdown, not \(format)")
            }
        }
    }

    struct Dashboards: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write CloudWatch dashboard bodies (PutDashboard JSON) to a directory.",
            discussion: "Writes one file per dashboard: \(DashboardID.allCases.map(\.fileName).joined(separator: ", ")).")

        @Option(help: ArgumentHelp("Directory to write to.", valueName: "dir"))
        var output: String = "dashboards"

        @Option(help: "AWS region the widgets query.")
        var region: String = "us-east-1"

        @Flag(help: "Write nothing; exit 1 if a file in the directory differs from what would be written.")
        var check = false

        func run() throws {
            let generator = DashboardGenerator(catalog: .builtIn, region: region)
            var stale: [String] = []
            if !check { try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true) }
            for id in DashboardID.allCases {
                let path = (output as NSString).appendingPathComponent(id.fileName)
                let body = try generator.json(for: id)
                if check {
                    if FileManager.default.contents(atPath: path) != body { stale.append(path) }
                } else {
                    try body.write(to: URL(fileURLWithPath: path))
                    print("wrote \(path)")
                }
            }
            if !stale.isEmpty {
                for path in stale { print("stale: \(path) (run obsctl dashboards)") }
                throw ExitCode(1)
            }
        }
    }
}
