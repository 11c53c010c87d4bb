import Foundation
import QuiverFormats
import QuiverStorage

/// Turns a result into text in the current mode, and the footer after it: the row count and,
/// with `.timer on`, the time the statement took.
struct ResultDisplay {
    var mode: DisplayMode = .table
    /// Terminal styling (dim NULL); off for scripts, pipes and files.
    var styled = false
    /// Widest cell in table mode, in display columns; longer cells end in "…".
    var maxCellWidth = 48

    func render(_ result: ResultSet) -> String {
        switch mode {
        case .table: ResultRenderer.render([result], as: .table, maxCellWidth: maxCellWidth, highlightNull: styled)
        case .json: ResultRenderer.render([result], as: .json)
        case .jsonl: ResultRenderer.render([result], as: .jsonl)
        case .csv: ResultRenderer.render([result], as: .csv)
        case .line: LineRenderer.render([result], highlightNull: styled) + Self.rowCount(result.rows.count) + "\n"
        }
    }

    static func rowCount(_ n: Int) -> String { n == 1 ? "(1 row)" : "(\(n) rows)" }

    static func time(_ seconds: Double) -> String {
        seconds < 1 ? String(format: "Time: %.3f ms", seconds * 1000) : String(format: "Time: %.3f s", seconds)
    }
}
