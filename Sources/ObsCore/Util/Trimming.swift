extension StringProtocol {
    /// The text without leading and trailing blanks: spaces and tabs, Unicode's too, not line breaks
    /// (as Foundation's `trimmingCharacters(in: .whitespaces)`).
    package func trimmingBlanks() -> String {
        trimming { $0.isWhitespace && !$0.isNewline }
    }

    /// The text without leading and trailing whitespace and line breaks.
    package func trimmingWhitespace() -> String {
        trimming(\.isWhitespace)
    }

    /// The text without leading and trailing line breaks.
    package func trimmingNewlines() -> String {
        trimming(\.isNewline)
    }

    private func trimming(_ drop: (Character) -> Bool) -> String {
        guard let first = firstIndex(where: { !drop($0) }) else { return "" }
        let last = lastIndex(where: { !drop($0) })!
        return String(self[first...last])
    }
}

extension String {
    /// The string, or nil when it is empty.
    package var nonEmpty: String? { isEmpty ? nil : self }
}
