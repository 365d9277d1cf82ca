/// A YAML node of the config: every scalar is text (typed later by ``ConfigNode``), mappings keep
/// their order and any repeated key (``ConfigNode`` refuses it, naming it).
public indirect enum YAMLNode: Equatable, Sendable {
    case scalar(String)
    case sequence([YAMLNode])
    case mapping([(key: String, value: YAMLNode)])

    public static func == (a: YAMLNode, b: YAMLNode) -> Bool {
        switch (a, b) {
        case (.scalar(let x), .scalar(let y)): return x == y
        case (.sequence(let x), .sequence(let y)): return x == y
        case (.mapping(let x), .mapping(let y)):
            return x.count == y.count && zip(x, y).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        default: return false
        }
    }
}

/// Reads the YAML a config file is written in: block mappings and sequences (a sequence may sit at
/// its key's indentation), plain, single- and double-quoted scalars, literal (`|`) and folded
/// (`>`) block scalars, flow sequences and mappings (`[a, b]`, `{a: 1}`), comments, and a leading
/// `---`. Anchors, aliases, tags and multi-document files are refused with a message naming the
/// line. The agent links no YAML library: Yams needs Foundation, and the agent links only
/// FoundationEssentials to keep its memory small (BENCHMARKS.md). `YAMLReaderTests` compares this
/// reader with Yams on every config the repository holds and on generated ones.
public enum YAMLReader {
    public struct SyntaxError: Error, Equatable, CustomStringConvertible {
        package let line: Int
        package let message: String
        public var description: String { "line \(line): \(message)" }
    }

    /// The document in `text`; nil when it holds nothing but comments.
    public static func parse(_ text: String) throws(SyntaxError) -> YAMLNode? {
        var parser = Parser(text)
        return try parser.document()
    }

    private struct Line {
        let number: Int
        var indent: Int
        /// The line from its indentation on, comment kept (block scalars keep `#`).
        var text: Substring
    }

    /// Nesting deeper than this is refused (a config needs five levels; a fuzzer's thousands would
    /// overflow the stack).
    static let maxDepth = 64

    private struct Parser {
        var lines: [Line] = []
        var position = 0
        var depth = 0

        init(_ text: String) {
            var number = 0
            // "\r\n" is one Character: split on it as on "\n" and a lone "\r".
            for line in text.split(
                omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" })
            {
                number += 1
                let indent = line.prefix { $0 == " " }.count
                lines.append(Line(number: number, indent: indent, text: line.dropFirst(indent)))
            }
        }

        func fail(_ line: Int, _ message: String) -> SyntaxError { SyntaxError(line: line, message: message) }

        /// The line's content without its comment and trailing blanks; empty for a blank line.
        static func content(_ text: Substring) -> Substring {
            var inSingle = false
            var inDouble = false
            var previous: Character = " "
            var index = text.startIndex
            var escaped = false
            while index < text.endIndex {
                let c = text[index]
                if inDouble {
                    if escaped {
                        escaped = false
                    } else if c == "\\" {
                        escaped = true
                    } else if c == "\"" {
                        inDouble = false
                    }
                } else if inSingle {
                    if c == "'" {
                        let after = text.index(after: index)
                        if after < text.endIndex && text[after] == "'" {
                            index = text.index(after: after)  // '' is a quote inside the value
                            previous = "'"
                            continue
                        }
                        inSingle = false
                    }
                } else if c == "#" && (previous == " " || previous == "\t") {
                    break
                } else if c == "#" && index == text.startIndex {
                    break
                } else if (c == "\"" || c == "'") && startsScalar(text, at: index) {
                    if c == "\"" { inDouble = true } else { inSingle = true }
                }
                previous = c
                index = text.index(after: index)
            }
            var end = index
            while end > text.startIndex {
                let before = text.index(before: end)
                guard text[before] == " " || text[before] == "\t" else { break }
                end = before
            }
            return text[text.startIndex..<end]
        }

        /// Whether a scalar may begin at `index`: the line's start, after `[`, `{` or `,`, or after
        /// the blank that follows a key's `:` or a list item's `-`.
        static func startsScalar(_ text: Substring, at index: Substring.Index) -> Bool {
            var i = index
            var sawBlank = false
            while i > text.startIndex {
                let before = text.index(before: i)
                let c = text[before]
                if c == " " || c == "\t" {
                    sawBlank = true
                    i = before
                    continue
                }
                if c == "[" || c == "{" || c == "," { return true }
                if c == ":" && sawBlank { return true }
                if c == "-" && sawBlank { return text[..<before].allSatisfy { $0 == " " || $0 == "-" } }
                return false
            }
            return true
        }

        /// Skips blank and comment-only lines; the next line with content, if any.
        mutating func next() -> Line? {
            while position < lines.count {
                if !Self.content(lines[position].text).isEmpty { return lines[position] }
                position += 1
            }
            return nil
        }

        mutating func document() throws(SyntaxError) -> YAMLNode? {
            if let tabbed = lines.first(where: { $0.text.first == "\t" && !Self.content($0.text).isEmpty }) {
                throw fail(tabbed.number, "a tab in the indentation: YAML indents with spaces")
            }
            if let first = next(), first.indent == 0, first.text.hasPrefix("---") {
                let rest = Self.content(first.text.dropFirst(3))
                guard rest.isEmpty else { throw fail(first.number, "text after --- is not supported") }
                position += 1
            }
            guard let first = next() else { return nil }
            let node = try block(indent: first.indent)
            if let extra = next() {
                if extra.indent == 0 && (extra.text.hasPrefix("---") || extra.text.hasPrefix("...")) {
                    throw fail(
                        extra.number,
                        "one document a file: a second document (---) or end marker (...) is not supported")
                }
                throw fail(
                    extra.number,
                    "this line does not fit the block above it (a key after a list at the same indentation, or an indentation no block has)"
                )
            }
            return node
        }

        /// The block whose first line is the next line, at `indent`.
        mutating func block(indent: Int) throws(SyntaxError) -> YAMLNode {
            guard let line = next() else { return .scalar("") }
            depth += 1
            defer { depth -= 1 }
            guard depth <= YAMLReader.maxDepth else {
                throw fail(line.number, "nested more than \(YAMLReader.maxDepth) levels deep")
            }
            let content = Self.content(line.text)
            if Self.isSequenceItem(content) { return try sequence(indent: line.indent) }
            if try Self.splitKey(content, line: line.number) != nil { return try mapping(indent: line.indent) }
            position += 1
            return try value(content, line: line, parentIndent: indent - 1)
        }

        static func isSequenceItem(_ content: Substring) -> Bool {
            content == "-" || content.hasPrefix("- ") || content.hasPrefix("-\t")
        }

        mutating func sequence(indent: Int) throws(SyntaxError) -> YAMLNode {
            var items: [YAMLNode] = []
            while let line = next(), line.indent == indent, Self.isSequenceItem(Self.content(line.text)) {
                let after = line.text.dropFirst()
                let spaces = after.prefix { $0 == " " }.count
                let rest = after.dropFirst(spaces)
                if Self.content(rest).isEmpty {
                    position += 1
                    if let nested = next(), nested.indent > indent {
                        items.append(try block(indent: nested.indent))
                    } else {
                        items.append(.scalar(""))
                    }
                } else {
                    // The item's text is read as a line of its own at its column: `- key: v` opens a
                    // mapping whose other keys line up under `key`.
                    lines[position] = Line(number: line.number, indent: indent + 1 + spaces, text: rest)
                    items.append(try block(indent: indent + 1 + spaces))
                }
            }
            if let line = next(), line.indent > indent {
                throw fail(line.number, "unexpected indentation in a list")
            }
            return .sequence(items)
        }

        mutating func mapping(indent: Int) throws(SyntaxError) -> YAMLNode {
            var entries: [(key: String, value: YAMLNode)] = []
            while let line = next(), line.indent == indent {
                let content = Self.content(line.text)
                if indent == 0 && (content.hasPrefix("---") || content == "...") { break }
                if Self.isSequenceItem(content) {
                    throw fail(line.number, "a list item where a key was expected")
                }
                guard let (key, rest) = try Self.splitKey(content, line: line.number) else {
                    throw fail(line.number, "expected key: value")
                }
                position += 1
                if rest.isEmpty {
                    if let nested = next(), nested.indent > indent {
                        entries.append((key, try block(indent: nested.indent)))
                    } else if let nested = next(), nested.indent == indent,
                        Self.isSequenceItem(Self.content(nested.text))
                    {
                        entries.append((key, try sequence(indent: indent)))
                    } else {
                        entries.append((key, .scalar("")))
                    }
                } else {
                    entries.append((key, try value(rest, line: line, parentIndent: indent)))
                }
            }
            if let line = next(), line.indent > indent {
                throw fail(
                    line.number, "unexpected indentation (a value on the line of its key cannot have a block under it)")
            }
            return .mapping(entries)
        }

        /// The key of a `key: value` line and the rest after the colon; nil when the line is no
        /// mapping entry.
        static func splitKey(_ content: Substring, line: Int) throws(SyntaxError) -> (String, Substring)? {
            if content.first == "[" || content.first == "{" { return nil }
            if content.first == "\"" || content.first == "'" {
                var reader = ScalarReader(content, line: line)
                let key = try reader.quoted()
                let after = content[reader.index...]
                guard after.first == ":" else { return nil }
                let rest = after.dropFirst()
                guard rest.isEmpty || rest.first == " " || rest.first == "\t" else { return nil }
                return (key, trimmed(rest))
            }
            var index = content.startIndex
            while index < content.endIndex {
                if content[index] == ":" {
                    let after = content.index(after: index)
                    if after == content.endIndex || content[after] == " " || content[after] == "\t" {
                        let key = trimmed(content[..<index])
                        guard !key.isEmpty else { throw SyntaxError(line: line, message: "a key is empty") }
                        try checkPlain(key, line: line)
                        return (String(key), trimmed(content[after...]))
                    }
                }
                index = content.index(after: index)
            }
            return nil
        }

        static func trimmed(_ text: Substring) -> Substring {
            var t = text
            while let c = t.first, c == " " || c == "\t" { t = t.dropFirst() }
            while let c = t.last, c == " " || c == "\t" { t = t.dropLast() }
            return t
        }

        static func checkPlain(_ text: Substring, line: Int) throws(SyntaxError) {
            guard let first = text.first else { return }
            switch first {
            case "&": throw SyntaxError(line: line, message: "anchors (&) are not supported in the config")
            case "*": throw SyntaxError(line: line, message: "aliases (*) are not supported in the config")
            case "!": throw SyntaxError(line: line, message: "tags (!) are not supported in the config")
            case "@", "`", "%":
                throw SyntaxError(line: line, message: "a plain value cannot start with \(first); quote it")
            case "]", "}": throw SyntaxError(line: line, message: "unexpected \(first)")
            default: break
            }
            if text.contains(": ") || text.hasSuffix(":") {
                throw SyntaxError(line: line, message: "a value with \": \" in it must be quoted")
            }
        }

        /// A value after `key:` or `- `, or on a line of its own; continuation lines of a plain
        /// value (indented more than `parentIndent`) are folded into it with a space.
        mutating func value(_ text: Substring, line: Line, parentIndent: Int) throws(SyntaxError) -> YAMLNode {
            switch text.first {
            case "|", ">":
                return .scalar(try blockScalar(header: text, line: line, parentIndent: parentIndent))
            case "[", "{":
                var flow = String(text)
                var depth = Self.flowDepth(text)
                while depth > 0 {
                    guard let more = next(), more.indent > parentIndent else {
                        throw fail(line.number, "a [ or { that is not closed")
                    }
                    let content = Self.content(more.text)
                    flow += " " + content
                    depth += Self.flowDepth(content)
                    position += 1
                }
                var reader = ScalarReader(Substring(flow), line: line.number)
                let node = try reader.flowNode()
                reader.skipBlanks()
                guard reader.atEnd else { throw fail(line.number, "text after the end of a [ ] or { } value") }
                return node
            case "\"", "'":
                var reader = ScalarReader(text, line: line.number)
                let scalar = try reader.quoted()
                reader.skipBlanks()
                guard reader.atEnd else { throw fail(line.number, "text after the closing quote") }
                return .scalar(scalar)
            default:
                try Self.checkPlain(text, line: line.number)
                var folded = String(text)
                while let more = next(), more.indent > parentIndent {
                    let content = Self.content(more.text)
                    if Self.isSequenceItem(content) || (try? Self.splitKey(content, line: more.number)) != nil {
                        throw fail(
                            more.number,
                            "unexpected indentation (a value on the line of its key cannot have a block under it)")
                    }
                    try Self.checkPlain(content, line: more.number)
                    folded += " " + content
                    position += 1
                }
                return .scalar(folded)
            }
        }

        /// Brackets opened minus closed outside quoted scalars (a quote inside a plain scalar, as
        /// in `[it's]`, opens nothing).
        static func flowDepth(_ text: Substring) -> Int {
            var depth = 0
            var quote: Character?
            var escaped = false
            var atScalarStart = true
            var previous: Character = " "
            for c in text {
                defer { previous = c }
                if let q = quote {
                    if escaped {
                        escaped = false
                    } else if q == "\"" && c == "\\" {
                        escaped = true
                    } else if c == q {
                        quote = nil
                    }
                    continue
                }
                if c == " " || c == "\t" {
                    if previous == ":" { atScalarStart = true }
                    continue
                }
                if (c == "\"" || c == "'") && atScalarStart {
                    quote = c
                } else if c == "[" || c == "{" {
                    depth += 1
                } else if c == "]" || c == "}" {
                    depth -= 1
                }
                atScalarStart = c == "[" || c == "{" || c == ","
            }
            return depth
        }

        /// `|` or `>` with an optional chomping indicator (`-` strip, `+` keep).
        mutating func blockScalar(header: Substring, line: Line, parentIndent: Int) throws(SyntaxError) -> String {
            let literal = header.first == "|"
            let indicator = header.dropFirst()
            guard indicator.isEmpty || indicator == "-" || indicator == "+" else {
                throw fail(line.number, "block scalar indicators other than - and + are not supported")
            }
            var body: [Substring] = []
            var blockIndent: Int?
            // Whether the text's last line ended with a line break (the file's last line may not).
            var endsWithBreak = true
            while position < lines.count {
                let candidate = lines[position]
                let blank = candidate.text.allSatisfy { $0 == " " || $0 == "\t" }
                if blank {
                    body.append("")
                    position += 1
                    continue
                }
                if blockIndent == nil {
                    guard candidate.indent > parentIndent else { break }
                    blockIndent = candidate.indent
                }
                guard candidate.indent >= blockIndent! else { break }
                body.append(Substring(String(repeating: " ", count: candidate.indent - blockIndent!) + candidate.text))
                endsWithBreak = position < lines.count - 1
                position += 1
            }
            // Trailing blank lines belong to the chomping, not the text.
            var trailing = 0
            while let last = body.last, last.isEmpty {
                body.removeLast()
                trailing += 1
            }
            var text: String
            if literal {
                text = body.joined(separator: "\n")
            } else {
                text = ""
                var previousBlank = true
                for part in body {
                    if part.isEmpty {
                        text += "\n"
                        previousBlank = true
                    } else {
                        if !previousBlank && !text.hasSuffix("\n") { text += " " }
                        text += part
                        previousBlank = false
                    }
                }
            }
            if body.isEmpty { return indicator == "+" ? String(repeating: "\n", count: trailing) : "" }
            switch indicator {
            case "-": return text
            case "+": return text + "\n" + String(repeating: "\n", count: trailing)
            default: return endsWithBreak ? text + "\n" : text
            }
        }
    }

    /// Reads quoted scalars and flow collections from one piece of text.
    private struct ScalarReader {
        let text: Substring
        var index: Substring.Index
        let line: Int
        var depth = 0

        init(_ text: Substring, line: Int) {
            self.text = text
            self.index = text.startIndex
            self.line = line
        }

        var atEnd: Bool { index == text.endIndex }
        var current: Character? { atEnd ? nil : text[index] }

        func fail(_ message: String) -> SyntaxError { SyntaxError(line: line, message: message) }

        mutating func advance() { index = text.index(after: index) }

        mutating func skipBlanks() {
            while let c = current, c == " " || c == "\t" { advance() }
        }

        mutating func quoted() throws(SyntaxError) -> String {
            let quote = current!
            advance()
            var out = ""
            while let c = current {
                advance()
                if quote == "'" {
                    if c == "'" {
                        if current == "'" {
                            out.append("'")
                            advance()
                            continue
                        }
                        return out
                    }
                    out.append(c)
                } else {
                    if c == "\"" { return out }
                    if c == "\\" {
                        guard let e = current else { break }
                        advance()
                        out += try escape(e)
                    } else {
                        out.append(c)
                    }
                }
            }
            throw fail("a quoted value must end on its line (no closing \(quote))")
        }

        mutating func escape(_ e: Character) throws(SyntaxError) -> String {
            switch e {
            case "0": return "\0"
            case "a": return "\u{07}"
            case "b": return "\u{08}"
            case "t", "\t": return "\t"
            case "n": return "\n"
            case "v": return "\u{0B}"
            case "f": return "\u{0C}"
            case "r": return "\r"
            case "e": return "\u{1B}"
            case " ": return " "
            case "\"": return "\""
            case "/": return "/"
            case "\\": return "\\"
            case "N": return "\u{85}"
            case "_": return "\u{A0}"
            case "L": return "\u{2028}"
            case "P": return "\u{2029}"
            case "x", "u", "U":
                let digits = e == "x" ? 2 : e == "u" ? 4 : 8
                var value: UInt32 = 0
                for _ in 0..<digits {
                    guard let c = current, let d = c.hexDigitValue else {
                        throw fail("\\\(e) needs \(digits) hexadecimal digits")
                    }
                    value = value * 16 + UInt32(d)
                    advance()
                }
                guard let scalar = Unicode.Scalar(value) else { throw fail("\\\(e) names no character") }
                return String(Character(scalar))
            default:
                throw fail("unknown escape \\\(e) in a double-quoted value")
            }
        }

        mutating func flowNode() throws(SyntaxError) -> YAMLNode {
            depth += 1
            defer { depth -= 1 }
            guard depth <= YAMLReader.maxDepth else {
                throw fail("nested more than \(YAMLReader.maxDepth) levels deep")
            }
            skipBlanks()
            switch current {
            case "[":
                advance()
                var items: [YAMLNode] = []
                while true {
                    skipBlanks()
                    if current == "]" {
                        advance()
                        return .sequence(items)
                    }
                    items.append(try flowNode())
                    skipBlanks()
                    if current == "," {
                        advance()
                    } else if current != "]" {
                        throw fail("expected , or ] in a [ ] list")
                    }
                }
            case "{":
                advance()
                var entries: [(key: String, value: YAMLNode)] = []
                while true {
                    skipBlanks()
                    if current == "}" {
                        advance()
                        return .mapping(entries)
                    }
                    guard case .scalar(let key) = try flowScalar(isKey: true) else { throw fail("a key must be text") }
                    skipBlanks()
                    guard current == ":" else { throw fail("expected : after a key in a { } mapping") }
                    advance()
                    skipBlanks()
                    let value: YAMLNode = (current == "," || current == "}") ? .scalar("") : try flowNode()
                    entries.append((key, value))
                    skipBlanks()
                    if current == "," {
                        advance()
                    } else if current != "}" {
                        throw fail("expected , or } in a { } mapping")
                    }
                }
            case nil:
                throw fail("a [ or { that is not closed")
            default:
                return try flowScalar(isKey: false)
            }
        }

        mutating func flowScalar(isKey: Bool) throws(SyntaxError) -> YAMLNode {
            if current == "\"" || current == "'" { return .scalar(try quoted()) }
            let start = index
            while let c = current, c != ",", c != "]", c != "}", c != "[", c != "{" {
                if c == ":" {
                    let after = text.index(after: index)
                    if after == text.endIndex || text[after] == " " || text[after] == "," || text[after] == "}"
                        || text[after] == "]"
                    {
                        break
                    }
                }
                advance()
            }
            var plain = text[start..<index]
            while let c = plain.last, c == " " || c == "\t" { plain = plain.dropLast() }
            guard !plain.isEmpty || isKey == false else { throw fail("a key is empty") }
            switch plain.first {
            case "&": throw fail("anchors (&) are not supported in the config")
            case "*": throw fail("aliases (*) are not supported in the config")
            case "!": throw fail("tags (!) are not supported in the config")
            default: break
            }
            if !isKey, current == ":" { throw fail("a value with \": \" in it must be quoted") }
            return .scalar(String(plain))
        }
    }
}
