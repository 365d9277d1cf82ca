#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Reads a Prometheus text 0.0.4 or OpenMetrics 1.0 body line by line and hands each sample to a
/// closure, without building a model of the scrape: names and label values are spans into the
/// body (or into scratch space when a value had escapes), numbers are converted in place. After
/// the first parse has sized its buffers, parsing allocates only for what a format's rules make it
/// remember per family (names seen, series groups of histograms and summaries).
///
/// In OpenMetrics mode the grammar, `# EOF` and the family and metadata rules are always
/// enforced; with `strict`, so are the specification's rules on values and series (non-negative
/// counters, histogram buckets and counts that agree, series kept together, timestamps that do not
/// go backwards): the whole of what the OpenMetrics conformance suite checks. Scraping turns
/// `strict` off, because real clients break those rules (Go's client writes a `_sum` on histograms
/// with negative buckets) and the consumer guards values itself. In 0.0.4 mode, the parser enforces
/// what Prometheus' own text parser enforces.
/// The first violation stops the parse with an ``ExpositionError``; samples handed out before it
/// have been seen by the closure, so a caller that must be all-or-nothing keeps them aside until
/// the parse returns.
///
/// Micrometer 1.12 and older end label sets with a comma; 0.0.4 mode accepts it. NaN and ±Inf are
/// handed out as they are: dropping them is the consumer's decision.
public final class ExpositionParser {
    package let format: ExpositionFormat
    /// Whether OpenMetrics value and series rules are enforced.
    package let strict: Bool

    struct PendingLabel {
        var name: ByteSpan
        /// Where the value is: in the body (`inScratch` false, `body` set) or at `offset` in scratch.
        var body: ByteSpan
        var inScratch: Bool
        var offset: Int
        var count: Int
    }

    private var pending: [PendingLabel] = []
    private var resolved: UnsafeMutablePointer<LabelSpans.LabelSpan>
    private var resolvedCapacity = 16
    private var scratch: [UInt8] = []
    private var om = OpenMetricsRules(strict: true)
    private var text = TextFamilies()
    private var lineNumber = 0

    public init(format: ExpositionFormat, strict: Bool = true) {
        self.format = format
        self.strict = strict
        resolved = .allocate(capacity: resolvedCapacity)
    }

    deinit {
        resolved.deallocate()
    }

    /// Parses `body`, calling `visit` for each sample in order.
    public func parse(_ body: UnsafeRawBufferPointer, _ visit: (ExpositionSample) -> Void) throws(ExpositionError) {
        lineNumber = 0
        om = OpenMetricsRules(strict: strict)
        text = TextFamilies()
        guard let base = body.baseAddress, body.count > 0 else {
            if format == .openMetrics { throw ExpositionError(line: 1, "no # EOF line") }
            return
        }
        let n = body.count
        var position = 0
        var sawEOF = false
        while position < n {
            lineNumber += 1
            let start = base + position
            let newline = memchr(start, Int32(UInt8(ascii: "\n")), n - position)
            let end = newline.map { UnsafeRawPointer($0) - base } ?? n
            let line = ByteSpan(base: start, count: end - position)
            switch format {
            case .openMetrics:
                if sawEOF { throw error("text after # EOF") }
                sawEOF = try openMetricsLine(line, visit)
            case .prometheusText:
                if newline == nil { throw error("the last line does not end with a newline") }
                try textLine(line, visit)
            }
            position = end + 1
        }
        if format == .openMetrics {
            guard sawEOF else { throw error("no # EOF line") }
            om.line = lineNumber
            try om.finish()
        }
    }

    /// Parses `bytes` (a convenience over the pointer form).
    public func parse(_ bytes: [UInt8], _ visit: (ExpositionSample) -> Void) throws(ExpositionError) {
        let failure: ExpositionError? = bytes.withUnsafeBytes { buffer in
            do throws(ExpositionError) {
                try parse(buffer, visit)
                return nil
            } catch {
                return error
            }
        }
        if let failure { throw failure }
    }

    private func error(_ message: String) -> ExpositionError {
        ExpositionError(line: lineNumber, message)
    }

    // MARK: OpenMetrics

    /// One OpenMetrics line; returns whether it was `# EOF`.
    private func openMetricsLine(_ line: ByteSpan, _ visit: (ExpositionSample) -> Void) throws(ExpositionError) -> Bool
    {
        guard !line.isEmpty else { throw error("blank line") }
        if line[0] == UInt8(ascii: "#") {
            if line.equals("# EOF") { return true }
            try openMetricsComment(line)
            return false
        }
        var cursor = LineCursor(line)
        let name = cursor.metricName()
        guard !name.isEmpty else { throw error("expected a metric name") }
        pending.removeAll(keepingCapacity: true)
        scratch.removeAll(keepingCapacity: true)
        if cursor.peek == UInt8(ascii: "{") { try labels(&cursor, strict: true) }
        guard cursor.expect(UInt8(ascii: " ")) else {
            throw error("expected one space and a value after the name and labels")
        }
        let valueText = cursor.token(until: UInt8(ascii: " "), UInt8(ascii: " "))
        guard let value = NumberParsing.value(valueText) else { throw error("\"\(valueText)\" is not a number") }
        var timestamp: Double?
        var exemplar = false
        if cursor.expect(UInt8(ascii: " ")) {
            if cursor.peek == UInt8(ascii: "#") {
                exemplar = true
            } else {
                let stamp = cursor.token(until: UInt8(ascii: " "), UInt8(ascii: " "))
                guard let t = NumberParsing.real(stamp) else { throw error("\"\(stamp)\" is not a timestamp") }
                timestamp = t
                if cursor.expect(UInt8(ascii: " ")) {
                    guard cursor.peek == UInt8(ascii: "#") else { throw error("unexpected text after the timestamp") }
                    exemplar = true
                }
            }
        }
        if exemplar { try self.exemplar(&cursor) }
        guard cursor.atEnd else { throw error("unexpected text after the value") }

        let labels = resolveLabels()
        om.line = lineNumber
        let placed = try om.sample(
            name: name, labels: labels, value: value, timestamp: timestamp, hasExemplar: exemplar)
        visit(
            ExpositionSample(
                familyName: name.prefix(placed.familyNameCount), familyType: placed.type,
                familyIndex: placed.familyIndex,
                name: name, suffix: placed.suffix, labels: labels, value: value, timestamp: timestamp))
        return false
    }

    /// `# {labels} value [timestamp]` after a sample's value.
    private func exemplar(_ cursor: inout LineCursor) throws(ExpositionError) {
        guard cursor.expect(UInt8(ascii: "#")), cursor.expect(UInt8(ascii: " ")), cursor.peek == UInt8(ascii: "{")
        else {
            throw error("an exemplar is written \" # {labels} value\"")
        }
        // The exemplar's labels go after the sample's in `pending`, and are removed once checked.
        let mark = pending.count
        let scratchCount = scratch.count
        try labels(&cursor, strict: true)
        var codePoints = 0
        scratch.withUnsafeBytes { scratchBytes in
            for label in pending[mark...] {
                codePoints += Self.codePoints(label.name.buffer)
                codePoints +=
                    label.inScratch
                    ? Self.codePoints(
                        UnsafeRawBufferPointer(rebasing: scratchBytes[label.offset..<(label.offset + label.count)]))
                    : Self.codePoints(label.body.buffer)
            }
        }
        pending.removeSubrange(mark...)
        scratch.removeSubrange(scratchCount...)
        guard codePoints <= 128 else { throw error("exemplar labels longer than 128 characters") }
        guard cursor.expect(UInt8(ascii: " ")) else { throw error("expected a value after the exemplar's labels") }
        let value = cursor.token(until: UInt8(ascii: " "), UInt8(ascii: " "))
        guard NumberParsing.value(value) != nil else { throw error("exemplar value \"\(value)\" is not a number") }
        if cursor.expect(UInt8(ascii: " ")) {
            let stamp = cursor.token(until: UInt8(ascii: " "), UInt8(ascii: " "))
            guard NumberParsing.real(stamp) != nil else {
                throw error("exemplar timestamp \"\(stamp)\" is not a number")
            }
        }
    }

    private static func codePoints(_ bytes: UnsafeRawBufferPointer) -> Int {
        bytes.reduce(0) { $0 + ($1 & 0xC0 == 0x80 ? 0 : 1) }
    }

    private func openMetricsComment(_ line: ByteSpan) throws(ExpositionError) {
        let kind: OpenMetricsRules.Metadata
        if line.hasPrefix("# HELP ") {
            kind = .help
        } else if line.hasPrefix("# TYPE ") {
            kind = .type
        } else if line.hasPrefix("# UNIT ") {
            kind = .unit
        } else {
            throw error("a comment must be # HELP, # TYPE, # UNIT or # EOF")
        }
        var cursor = LineCursor(line)
        cursor.index = 7
        om.line = lineNumber
        let name = cursor.metricName()
        guard !name.isEmpty else { throw error("expected a metric name after # HELP, # TYPE or # UNIT") }
        guard cursor.expect(UInt8(ascii: " ")) else { throw error("expected one space after the metric name") }
        let rest = cursor.rest
        switch kind {
        case .help:
            try om.metadata(.help, name: name)
        case .type:
            guard let type = MetricType(openMetrics: rest) else { throw error("unknown metric type \"\(rest)\"") }
            try om.metadata(.type, name: name, type: type)
        case .unit:
            var unitCursor = LineCursor(rest)
            _ = unitCursor.metricName()
            guard unitCursor.atEnd else { throw error("\"\(rest)\" is not a unit") }
            if !rest.isEmpty {
                guard name.count > rest.count + 1, name.hasSuffixBytes(rest),
                    name[name.count - rest.count - 1] == UInt8(ascii: "_")
                else {
                    throw error("a metric with unit \(rest) must be named *_\(rest)")
                }
            }
            try om.metadata(.unit, name: name, unitIsEmpty: rest.isEmpty)
        }
    }

    // MARK: Prometheus text 0.0.4

    private func textLine(_ line: ByteSpan, _ visit: (ExpositionSample) -> Void) throws(ExpositionError) {
        var cursor = LineCursor(line)
        cursor.skipBlanks()
        guard let first = cursor.peek else { return }
        if first == UInt8(ascii: "#") {
            try textComment(&cursor)
            return
        }
        let name = cursor.metricName()
        guard !name.isEmpty else { throw error("expected a metric name") }
        cursor.skipBlanks()
        pending.removeAll(keepingCapacity: true)
        scratch.removeAll(keepingCapacity: true)
        if cursor.peek == UInt8(ascii: "{") {
            try labels(&cursor, strict: false)
            cursor.skipBlanks()
        }
        let valueText = cursor.token(until: UInt8(ascii: " "), UInt8(ascii: "\t"))
        guard let value = NumberParsing.value(valueText) else {
            throw error(valueText.isEmpty ? "expected a value" : "\"\(valueText)\" is not a number")
        }
        cursor.skipBlanks()
        var timestamp: Double?
        if !cursor.atEnd {
            let stamp = cursor.token(until: UInt8(ascii: " "), UInt8(ascii: "\t"))
            guard let milliseconds = NumberParsing.integer(stamp) else {
                throw error("\"\(stamp)\" is not a timestamp in milliseconds")
            }
            timestamp = Double(milliseconds) / 1000
            cursor.skipBlanks()
            guard cursor.atEnd else { throw error("unexpected text after the timestamp") }
        }
        let labels = resolveLabels()
        let (index, suffix) = text.family(forSample: name)
        let family = text.families[index]
        switch (family.type, suffix) {
        case (.histogram, .bucket):
            guard let le = labels["le"], NumberParsing.value(le) != nil else {
                throw error("a histogram bucket needs a numeric le label")
            }
        case (.summary, .none):
            guard let q = labels["quantile"], NumberParsing.value(q) != nil else {
                throw error("a summary sample needs a numeric quantile label")
            }
        default: break
        }
        text.families[index].sampled = true
        visit(
            ExpositionSample(
                familyName: name.prefix(family.name.count), familyType: family.type, familyIndex: index, name: name,
                suffix: suffix, labels: labels, value: value, timestamp: timestamp))
    }

    private func textComment(_ cursor: inout LineCursor) throws(ExpositionError) {
        cursor.index += 1
        cursor.skipBlanks()
        let keyword = cursor.token(until: UInt8(ascii: " "), UInt8(ascii: "\t"))
        let isHelp = keyword.equals("HELP")
        guard isHelp || keyword.equals("TYPE") else { return }
        cursor.skipBlanks()
        if cursor.atEnd { return }
        let name = cursor.metricName()
        guard !name.isEmpty, cursor.atEnd || cursor.peek == UInt8(ascii: " ") || cursor.peek == UInt8(ascii: "\t")
        else {
            throw error("invalid metric name in # \(keyword)")
        }
        if isHelp {
            // "# HELP name" with no text sets nothing, as in Prometheus' parser.
            guard !cursor.atEnd else { return }
            let index = text.family(named: name)
            guard !text.families[index].hasHelp else { throw error("second # HELP for \(name)") }
            text.families[index].hasHelp = true
            return
        }
        cursor.skipBlanks()
        let typeText = cursor.token(until: UInt8(ascii: " "), UInt8(ascii: "\t"))
        cursor.skipBlanks()
        guard cursor.atEnd, let type = MetricType(text: typeText) else {
            throw error("unknown metric type \"\(typeText)\"")
        }
        let index = text.family(named: name)
        guard !text.families[index].hasType, !text.families[index].sampled else {
            throw error("# TYPE for \(name) after its samples or a second time")
        }
        text.families[index].hasType = true
        text.families[index].type = type
    }

    // MARK: Labels

    /// Reads `{...}` into `pending`: strictly (OpenMetrics: no white space, no trailing comma, any
    /// escape) or leniently (0.0.4: blanks around tokens, a trailing comma, only `\\ \" \n`).
    private func labels(_ cursor: inout LineCursor, strict: Bool) throws(ExpositionError) {
        let first = pending.count
        _ = cursor.expect(UInt8(ascii: "{"))
        if !strict { cursor.skipBlanks() }
        if cursor.expect(UInt8(ascii: "}")) { return }
        while true {
            let name = cursor.labelName()
            guard !name.isEmpty else { throw error("expected a label name") }
            guard !name.equals("__name__") else { throw error("the label __name__ is reserved") }
            for other in pending[first...] where other.name.equals(name) { throw error("label \(name) given twice") }
            if !strict { cursor.skipBlanks() }
            guard cursor.expect(UInt8(ascii: "=")) else { throw error("expected = after label \(name)") }
            if !strict { cursor.skipBlanks() }
            guard cursor.expect(UInt8(ascii: "\"")) else {
                throw error("label \(name)'s value must be in double quotes")
            }
            pending.append(try labelValue(&cursor, name: name, strict: strict))
            if !strict { cursor.skipBlanks() }
            if cursor.expect(UInt8(ascii: ",")) {
                if !strict {
                    cursor.skipBlanks()
                    if cursor.expect(UInt8(ascii: "}")) { return }
                }
                continue
            }
            guard cursor.expect(UInt8(ascii: "}")) else { throw error("expected , or } after label \(name)") }
            return
        }
    }

    private func labelValue(_ cursor: inout LineCursor, name: ByteSpan, strict: Bool) throws(ExpositionError)
        -> PendingLabel
    {
        let start = cursor.index
        let line = cursor.line
        var i = start
        // The common case: no escapes, the value is a span of the body.
        while i < line.count {
            let b = line[i]
            if b == UInt8(ascii: "\"") {
                cursor.index = i + 1
                return PendingLabel(
                    name: name, body: ByteSpan(base: line.base! + start, count: i - start), inScratch: false, offset: 0,
                    count: 0)
            }
            if b == UInt8(ascii: "\\") { break }
            i += 1
        }
        guard i < line.count else { throw error("label \(name)'s value has no closing quote") }
        let offset = scratch.count
        scratch.append(contentsOf: UnsafeRawBufferPointer(start: line.base! + start, count: i - start))
        while i < line.count {
            let b = line[i]
            if b == UInt8(ascii: "\"") {
                cursor.index = i + 1
                return PendingLabel(
                    name: name, body: .empty, inScratch: true, offset: offset, count: scratch.count - offset)
            }
            if b == UInt8(ascii: "\\") {
                guard i + 1 < line.count else { break }
                let next = line[i + 1]
                switch next {
                case UInt8(ascii: "\\"), UInt8(ascii: "\""): scratch.append(next)
                case UInt8(ascii: "n"): scratch.append(UInt8(ascii: "\n"))
                default:
                    guard strict else {
                        throw error("invalid escape \\\(Character(Unicode.Scalar(next))) in label \(name)")
                    }
                    scratch.append(b)
                    scratch.append(next)
                }
                i += 2
            } else {
                scratch.append(b)
                i += 1
            }
        }
        throw error("label \(name)'s value has no closing quote")
    }

    /// Turns `pending` into spans; scratch no longer grows for this sample, so its pointers hold.
    private func resolveLabels() -> LabelSpans {
        if pending.count > resolvedCapacity {
            resolved.deallocate()
            resolvedCapacity = pending.count * 2
            resolved = .allocate(capacity: resolvedCapacity)
        }
        scratch.withUnsafeBytes { scratchBytes in
            for (i, label) in pending.enumerated() {
                let value =
                    label.inScratch
                    ? ByteSpan(base: scratchBytes.baseAddress.map { $0 + label.offset }, count: label.count)
                    : label.body
                (resolved + i).initialize(to: LabelSpans.LabelSpan(name: label.name, value: value))
            }
        }
        return LabelSpans(storage: UnsafePointer(resolved), count: pending.count)
    }
}

extension ByteSpan {
    func hasSuffixBytes(_ other: ByteSpan) -> Bool {
        guard other.count <= count else { return false }
        return other.count == 0 || memcmpBytes(base! + (count - other.count), other.base!, other.count)
    }
}

extension MetricType {
    init?(openMetrics span: ByteSpan) {
        let names: [(StaticString, MetricType)] = [
            ("counter", .counter), ("gauge", .gauge), ("histogram", .histogram), ("gaugehistogram", .gaugehistogram),
            ("summary", .summary), ("info", .info), ("stateset", .stateset), ("unknown", .unknown),
        ]
        guard let match = names.first(where: { span.equals($0.0) }) else { return nil }
        self = match.1
    }

    /// 0.0.4 types: `counter`, `gauge`, `histogram`, `summary`, `untyped`.
    init?(text span: ByteSpan) {
        let names: [(StaticString, MetricType)] = [
            ("counter", .counter), ("gauge", .gauge), ("histogram", .histogram), ("summary", .summary),
            ("untyped", .unknown),
        ]
        guard let match = names.first(where: { span.equals($0.0) }) else { return nil }
        self = match.1
    }
}
