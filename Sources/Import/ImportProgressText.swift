import Foundation
import QuiverProgress

/// The one-line progress display of a long import, from the `Progress` the importer reports.
/// While the file is read (counted in bytes, the rows read alongside): a bar when the input's
/// size is known, rows, rows/s, MB/s and the time left. In a later stage (an index build,
/// counted in its own unit): the stage's own progress, then the rows read (first what is news:
/// a narrow line is cut at its end). Rendered as text; the caller decides where it goes.
public enum ImportProgressText {
    public static func render(_ progress: QuiverProgress.Progress, width: Int = 80) -> String {
        let rowsRead = progress.alongside?.value ?? 0
        guard progress.unit == .bytes else {
            var stage = progress
            stage.alongside = nil
            return "\(stage)  \(QuiverProgress.Progress.grouped(rowsRead)) rows read"
        }
        let seconds = max(progress.elapsed ?? 0, 0.001)
        let rows = Double(rowsRead) / seconds
        let megabytes = Double(progress.done) / 1_048_576 / seconds
        var stats =
            "\(QuiverProgress.Progress.grouped(rowsRead)) rows  \(QuiverProgress.Progress.grouped(Int(rows))) rows/s  "
            + String(format: "%.1f MB/s", megabytes)
        guard progress.total > 0 else { return stats }
        let fraction = progress.fraction
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
