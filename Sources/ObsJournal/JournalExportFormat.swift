/// Writes entries in the journal export format (`journalctl -o export`, the input of
/// `systemd-journal-remote`): what the tests and benchmarks build real journal files from.
///
/// Each entry is its fields, one a line (`NAME=value`), then an empty line. A value that is not
/// printable text on one line is written in the binary form: the name, a newline, its length as a
/// little-endian 64-bit number, the bytes, a newline.
public enum JournalExportFormat {
    /// Appends one entry with its address fields (`__REALTIME_TIMESTAMP`,
    /// `__MONOTONIC_TIMESTAMP`, `_BOOT_ID`) and `fields` in order.
    public static func append(
        realtime: UInt64, monotonic: UInt64, bootID: String, fields: [(String, [UInt8])], to out: inout [UInt8]
    ) {
        out += Array("__REALTIME_TIMESTAMP=\(realtime)\n__MONOTONIC_TIMESTAMP=\(monotonic)\n_BOOT_ID=\(bootID)\n".utf8)
        for (name, value) in fields {
            if value.contains(where: { $0 < 0x09 || ($0 > 0x09 && $0 < 0x20) || $0 >= 0x80 }) {
                out += Array(name.utf8)
                out.append(0x0A)
                var length = UInt64(value.count).littleEndian
                withUnsafeBytes(of: &length) { out += $0 }
                out += value
                out.append(0x0A)
            } else {
                out += Array(name.utf8)
                out.append(UInt8(ascii: "="))
                out += value
                out.append(0x0A)
            }
        }
        out.append(0x0A)
    }
}
