import QuiverStorage

/// Turns the result sets of one or more statements into text in a chosen format.
public enum ResultRenderer {
    /// Result sets without columns (from statements such as INSERT) are skipped in every
    /// format, so a script's output holds only what its queries returned.
    /// `maxCellWidth` (display columns) applies to `table` only; the others never truncate.
    /// Non-empty output ends with a newline. `highlightNull` draws NULL in tables dim, for terminals.
    public static func render(
        _ results: [ResultSet], as format: OutputFormat, maxCellWidth: Int = 60,
        highlightNull: Bool = false
    ) -> String {
        let shown = results.filter { !$0.columns.isEmpty }
        return switch format {
        case .table: TableRenderer(maxCellWidth: maxCellWidth, highlightNull: highlightNull).render(shown)
        case .json: JSONRenderer.renderArray(shown)
        case .jsonl: JSONRenderer.renderLines(shown)
        case .csv: CSVRenderer.render(shown)
        }
    }
}

extension ResultRenderer {
    /// One result set's rows as JSON Lines or CSV, for output written in chunks: `header`
    /// says whether CSV starts with the header line (the first chunk's).
    public static func renderChunk(_ result: ResultSet, as format: OutputFormat, header: Bool) -> String {
        switch format {
        case .csv: CSVRenderer.table(result, header: header)
        case .jsonl: JSONRenderer.renderLines([result])
        default: render([result], as: format)
        }
    }
}

extension ResultSet {
    /// The value in `column` of `row`, NULL where a short row lacks it.
    func value(_ row: [SQLValue], _ column: Int) -> SQLValue {
        column < row.count ? row[column] : .null
    }
}
