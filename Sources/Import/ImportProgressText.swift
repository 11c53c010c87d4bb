import Foundation

/// The one-line progress display of a long import: a bar when the input's size is known,
/// rows/s, MB/s and the time left. Rendered as text; the caller decides where it goes.
public enum ImportProgressText {
    public static func render(_ progress: Importer.Progress, width: Int = 80) -> String {
        let seconds = max(progress.seconds, 0.001)
        let rows = Double(progress.read) / seconds
        let megabytes = Double(progress.bytes) / 1_048_576 / seconds
        var stats =
            "\(ImportSummary.grouped(progress.read)) rows  \(ImportSummary.grouped(Int(rows))) rows/s  "
            + String(format: "%.1f MB/s", megabytes)
        if let phase = progress.phase {
            return "\(stats)  \(phase)…"
        }
        guard let total = progress.totalBytes, total > 0 else { return stats }
        let fraction = min(1, Double(progress.bytes) / Double(total))
        let left = fraction > 0 ? seconds * (1 - fraction) / fraction : 0
        stats += "  ETA " + clock(left)
        // A fixed bar (stats vary in length from line to line) that leaves room for them.
        let barWidth = max(10, min(30, width - 62))
        let filled = Int(fraction * Double(barWidth))
        let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: barWidth - filled)
        return String(format: "%3.0f%% ", fraction * 100) + bar + "  " + stats
    }

    static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600
            ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }
}
