/// One journal entry: its fields, when it was written, and the cursor that names its position.
public struct JournalEntry: Sendable, Equatable {
    /// Field name to value (`MESSAGE`, `_SYSTEMD_UNIT`, `PRIORITY`, ...). Binary values are kept as
    /// UTF-8 with invalid bytes replaced.
    package var fields: [String: String]
    /// Microseconds since the epoch (`__REALTIME_TIMESTAMP`).
    package var realtimeMicroseconds: UInt64
    /// The opaque position of this entry, to resume after it.
    package var cursor: String

    package var message: String? { fields["MESSAGE"] }
    package var unit: String? { fields["_SYSTEMD_UNIT"] }
    package var priority: Int? { fields["PRIORITY"].flatMap { Int($0) } }
}
