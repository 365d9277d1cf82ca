import Foundation
import ObsCore
import ObsSource
import Testing
import Yams

@testable import ObsAgent

/// The agent's own YAML reader against Yams (a full YAML 1.1 parser, which only the tests link):
/// on every YAML file of the repository, on the feature cases below, and on generated documents.
@Suite struct YAMLReaderTests {
    static func yams(_ text: String) throws -> YAMLNode? {
        try Yams.compose(yaml: text).map(convert)
    }

    static func convert(_ node: Yams.Node) -> YAMLNode {
        switch node {
        case .scalar(let scalar): return .scalar(scalar.string)
        case .sequence(let sequence): return .sequence(sequence.map(convert))
        case .mapping(let mapping):
            return .mapping(mapping.map { (key: $0.key.string ?? "<\($0.key)>", value: convert($0.value)) })
        default: return .scalar("<unsupported \(node)>")
        }
    }

    static func repositoryRoot() -> URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
    }

    /// Every YAML document the repository holds: config files, manifests (split into their
    /// documents) and the ```yaml blocks of the docs.
    static func repositoryDocuments() throws -> [(String, String)] {
        let root = repositoryRoot()
        var documents: [(String, String)] = []
        let enumerator = FileManager.default.enumerator(atPath: root.path)!
        while let path = enumerator.nextObject() as? String {
            if path.hasPrefix(".build") || path.hasPrefix(".git") || path.contains("/.build") { continue }
            let full = root.appendingPathComponent(path).path
            if path.hasSuffix(".yaml") || path.hasSuffix(".yml") {
                let text = try String(contentsOfFile: full, encoding: .utf8)
                for (i, document) in text.components(separatedBy: "\n---\n").enumerated() {
                    documents.append(("\(path)#\(i)", document))
                }
            } else if path.hasSuffix(".md") {
                let text = try String(contentsOfFile: full, encoding: .utf8)
                for (i, block) in text.components(separatedBy: "```yaml\n").dropFirst().enumerated() {
                    documents.append(("\(path)#\(i)", block.components(separatedBy: "```").first ?? ""))
                }
            }
        }
        return documents
    }

    @Test func readsEveryYAMLFileOfTheRepositoryAsYamsDoes() throws {
        let documents = try Self.repositoryDocuments()
        #expect(documents.count >= 5, "found \(documents.count) documents")
        for (name, text) in documents {
            let expected = try Self.yams(text)
            let actual = try YAMLReader.parse(text)
            #expect(actual == expected, "\(name)")
        }
    }

    @Test(arguments: [
        "a: 1\nb: two words\nc:\n",
        "# comment\n---\nkey: value # trailing comment\nurl: http://x:80/a#frag\n",
        "list:\n- a\n- b\nafter: 1\n",
        "list:\n  - a\n  -   b\n  -\n    nested: yes\n",
        "- name: one\n  port: 1\n- name: two\n  port: 2\n",
        "- - a\n  - b\n- c\n",
        "q1: 'it''s # not a comment'\nq2: \"tab\\tnew\\nline \\\"q\\\" \\\\ \\u00e9 \\x41\"\nq3: ''\n",
        "flow: [a, 'b c', \"d\", [e, f], {g: h}]\nmap: {x: 1, y: [2, 3], z: }\nempty: []\nnone: {}\n",
        "multi: [a,\n  b, c]\nnext: 1\n",
        "lit: |\n  line one\n    indented\n\n  three\nfold: >\n  folded\n  text\n\n  para\nkeep: |+\n  k\n\nstrip: |-\n  s\n\nlast: 1\n",
        "plain: folded\n  continuation\n  lines\nnext: 2\n",
        "\"quoted key\": 1\n'single': 2\n",
        "a:\n  b:\n    c: deep\n  d: 3\n",
        "password: p@ss#word\npattern: ^\\S+ \\S+ \"(?<method>[A-Z]+) (?<path>\\S+)[^\"]*\" (?<status>\\d{3})\n",
        "crlf: yes\r\nnext: no\r\n",
        "dollar: ${DB_PASSWORD:-}\nsrv: _svc._tcp.${NS:-ecom.local}\n",
        "time: 12:30\nratio: 0.5\nneg: -1\nnull: ~\n",
        "key:    spaced value   \n",
    ])
    func featureCasesReadAsYamsReadsThem(_ text: String) throws {
        let expected = try Self.yams(text)
        let actual = try YAMLReader.parse(text)
        #expect(actual == expected)
    }

    @Test(arguments: [
        ("a: b: c\n", "quoted"),
        ("a: 'open\n", "closing '"),
        ("a: [1, 2\n", "not closed"),
        ("a:\n\tb: 1\n", "tab"),
        ("a: 1\n  b: 2\n", "indentation"),
        ("a: &anchor 1\n", "anchors"),
        ("a: *alias\n", "aliases"),
        ("a: !!str 1\n", "tags"),
        ("a: 1\n---\nb: 2\n", "one document"),
        ("a: \"bad \\q escape\"\n", "escape"),
        ("- a\nb: 1\n", "does not fit"),
    ])
    func refusesWhatItDoesNotReadWithTheLine(_ text: String, _ expected: String) {
        #expect(throws: YAMLReader.SyntaxError.self) { try YAMLReader.parse(text) }
        do {
            _ = try YAMLReader.parse(text)
        } catch {
            #expect(error.description.contains(expected), "\(error)")
            #expect(error.line >= 1)
        }
    }

    @Test func deepNestingIsRefusedNotAStackOverflow() {
        let flow = "a: " + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "\n"
        #expect(throws: YAMLReader.SyntaxError.self) { try YAMLReader.parse(flow) }
        let block = (0..<5_000).map { String(repeating: " ", count: $0) + "k\($0):" }.joined(separator: "\n") + " v\n"
        #expect(throws: YAMLReader.SyntaxError.self) { try YAMLReader.parse(block) }
        let fine = (0..<20).map { String(repeating: " ", count: $0 * 2) + "k\($0):" }.joined(separator: "\n") + " v\n"
        #expect(throws: Never.self) { try YAMLReader.parse(fine) }
    }

    @Test func anEmptyOrCommentOnlyFileIsNoDocument() throws {
        #expect(try YAMLReader.parse("") == nil)
        #expect(try YAMLReader.parse("# only a comment\n\n") == nil)
    }

    /// Random trees written in block style with random spellings (plain, quoted, flow, compact
    /// lists), read back by both parsers: each must give the tree that was written.
    @Test func generatedDocumentsReadBackAsWritten() throws {
        var generator = SystemRandomNumberGenerator()
        var seed = UInt64.random(in: 0...UInt64.max, using: &generator)
        var random = SplitMix64(seed: seed)
        for round in 0..<400 {
            seed = random.state
            let tree = Self.tree(depth: 0, random: &random)
            var text = ""
            Self.write(tree, indent: 0, into: &text, random: &random)
            let ours = try YAMLReader.parse(text)
            let theirs = try Self.yams(text)
            #expect(ours == tree, "round \(round), seed \(seed):\n\(text)")
            #expect(theirs == tree, "Yams, round \(round), seed \(seed):\n\(text)")
            if ours != tree { break }
        }
    }

    static func tree(depth: Int, random: inout SplitMix64) -> YAMLNode {
        let kind = depth >= 3 ? 0 : Int.random(in: 0..<3, using: &random)
        switch kind {
        case 1:
            return .sequence(
                (0..<Int.random(in: 1...4, using: &random)).map { _ in tree(depth: depth + 1, random: &random) })
        case 2:
            var keys = Set<String>()
            var entries: [(key: String, value: YAMLNode)] = []
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                let key = word(&random)
                guard keys.insert(key).inserted else { continue }
                entries.append((key, tree(depth: depth + 1, random: &random)))
            }
            return .mapping(entries)
        default:
            return .scalar(text(&random))
        }
    }

    static func word(_ random: inout SplitMix64) -> String {
        let letters = Array("abcdefghijklmnopqrstuvwxyz_")
        return String((0..<Int.random(in: 1...8, using: &random)).map { _ in letters.randomElement(using: &random)! })
    }

    /// Text of every kind: words, numbers, punctuation, ": ", " #", quotes, unicode, line breaks.
    static func text(_ random: inout SplitMix64) -> String {
        let pieces = [
            "word", "two words", "${DB_HOST:-x}", "12:30", "a: b", "x #y", "it's", "\"q\"", "é ü", "tab\there",
            "line\nbreak", "back\\slash", "-dash", "[x]", "{y}", "*star", "&amp", "!bang", "%p", "@at", "", " lead",
            "trail ",
        ]
        return (0..<Int.random(in: 1...3, using: &random)).map { _ in pieces.randomElement(using: &random)! }.joined()
    }

    /// Plain when the text may be written plain, else quoted.
    static func scalar(_ text: String, random: inout SplitMix64) -> String {
        let plainSafe =
            !text.isEmpty && text.first != " " && text.last != " " && !text.contains(": ") && !text.contains(" #")
            && !text.contains("\n") && !text.contains("\t") && !text.hasSuffix(":")
            && !"-[]{}*&!%@\"'#|>,?`".contains(text.first!)
            && !["~", "null", "true", "false", "yes", "no"].contains(text) && !text.contains("\\")
            && !text.contains(",")
        if plainSafe && Bool.random(using: &random) { return text }
        if !text.contains("\n") && !text.contains("\t") && !text.contains("\\") && Bool.random(using: &random) {
            return "'" + text.replacingOccurrences(of: "'", with: "''") + "'"
        }
        var out = "\""
        for c in text.unicodeScalars {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            default: out.unicodeScalars.append(c)
            }
        }
        return out + "\""
    }

    static func flow(_ node: YAMLNode, random: inout SplitMix64) -> String? {
        switch node {
        case .scalar(let s):
            let quoted = scalar(s, random: &random)
            // Plain scalars in flow context end at , [ ] { }: quote whatever has them.
            if !quoted.hasPrefix("\"") && !quoted.hasPrefix("'") && s.contains(where: { ",[]{}:#".contains($0) }) {
                return nil
            }
            return quoted.isEmpty ? "''" : quoted
        case .sequence(let items):
            var parts: [String] = []
            for item in items {
                guard let part = flow(item, random: &random) else { return nil }
                parts.append(part)
            }
            return "[" + parts.joined(separator: ", ") + "]"
        case .mapping(let entries):
            var parts: [String] = []
            for entry in entries {
                guard let part = flow(entry.value, random: &random) else { return nil }
                parts.append("\(entry.key): \(part)")
            }
            return "{" + parts.joined(separator: ", ") + "}"
        }
    }

    static func write(_ node: YAMLNode, indent: Int, into text: inout String, random: inout SplitMix64) {
        let pad = String(repeating: " ", count: indent)
        switch node {
        case .scalar(let s):
            text += pad + scalar(s, random: &random) + "\n"
        case .sequence(let items):
            for item in items {
                writeEntry(prefix: pad + "-", item, indent: indent, into: &text, random: &random, isItem: true)
            }
        case .mapping(let entries):
            for entry in entries {
                writeEntry(
                    prefix: pad + entry.key + ":", entry.value, indent: indent, into: &text, random: &random,
                    isItem: false)
            }
        }
    }

    static func writeEntry(
        prefix: String, _ value: YAMLNode, indent: Int, into text: inout String, random: inout SplitMix64, isItem: Bool
    ) {
        if Int.random(in: 0..<4, using: &random) == 0, let flow = flow(value, random: &random) {
            text += prefix + " " + flow + (Bool.random(using: &random) ? "  # note" : "") + "\n"
            return
        }
        switch value {
        case .scalar(let s):
            text += prefix + " " + scalar(s, random: &random) + "\n"
        case .sequence where !isItem && Bool.random(using: &random):
            // A list at its key's indentation.
            text += prefix + "\n"
            write(value, indent: indent, into: &text, random: &random)
        default:
            text += prefix + "\n"
            write(value, indent: indent + 2, into: &text, random: &random)
        }
    }
}
