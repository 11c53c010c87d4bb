import Foundation
import QuiverProgress

/// What an import did.
public struct ImportSummary: Sendable {
    public var table = ""
    /// Records read (malformed lines included).
    public var read = 0
    /// Rows inserted or updated.
    public var written = 0
    /// Records rejected (reasons in the reject file).
    public var rejected = 0
    /// Records left out as duplicates (`--dedupe`).
    public var duplicates = 0
    public var bytes = 0
    public var seconds = 0.0
    public var createdTable = false
    /// Vector indexes brought up to date at the end, with the seconds each took.
    public var indexes: [(name: String, seconds: Double, rebuilt: Bool)] = []
    public var rejectsPath: String?
    /// Problems that did not stop a `--on-error skip` import (e.g. surplus side vectors).
    public var warnings: [String] = []

    public var skipped: Int { rejected + duplicates }

    /// One paragraph for people, as `quiver import` prints it.
    public var text: String {
        let rate = seconds > 0 ? Double(read) / seconds : 0
        let megabytes = Double(bytes) / 1_048_576
        var lines = [
            String(
                format:
                    "imported %@ rows into %@%@: read %@, wrote %@, skipped %@ (%@ rejected, %@ duplicates) in %.2f s (%@ rows/s, %.1f MB/s)",
                Self.grouped(written), table, createdTable ? " (new table)" : "", Self.grouped(read),
                Self.grouped(written),
                Self.grouped(skipped), Self.grouped(rejected), Self.grouped(duplicates), seconds,
                Self.grouped(Int(rate)),
                seconds > 0 ? megabytes / seconds : 0)
        ]
        for index in indexes {
            lines.append(
                String(
                    format: "index %@ %@ in %.2f s", index.name, index.rebuilt ? "rebuilt" : "brought up to date",
                    index.seconds))
        }
        if let rejectsPath, rejected > 0 { lines.append("rejected records and reasons: \(rejectsPath)") }
        lines.append(contentsOf: warnings.map { "warning: \($0)" })
        return lines.joined(separator: "\n")
    }

    private static func grouped(_ n: Int) -> String { QuiverProgress.Progress.grouped(n) }
}
