import QuiverStorage

/// One `column = value` line per column and a blank line between rows, like sqlite3's
/// `.mode line`: for rows too wide for a table. Names are right-aligned by display width;
/// values are shown whole on one line, vectors abbreviated as in tables.
public enum LineRenderer {
    public static func render(_ results: [ResultSet], highlightNull: Bool = false) -> String {
        var out = ""
        for result in results where !result.columns.isEmpty {
            let names = result.columns.map(TableCellText.singleLine)
            let width = names.map(DisplayWidth.of).max() ?? 0
            for row in result.rows {
                if !out.isEmpty { out += "\n" }
                for (column, name) in names.enumerated() {
                    let value = result.value(row, column)
                    var text = TableCellText.singleLine(TableCellText.text(value, maxCellWidth: 1_000).0)
                    if value.isNull && highlightNull { text = "\u{1B}[2m" + text + "\u{1B}[22m" }
                    out += String(repeating: " ", count: width - DisplayWidth.of(name)) + name + " = " + text + "\n"
                }
            }
        }
        return out
    }
}
