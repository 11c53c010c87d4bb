import QuiverStorage

/// Bordered, aligned tables for people. Widths are display widths, so CJK text and
/// emoji line up, and every line of a table ends at the same column.
struct TableRenderer {
    let maxCellWidth: Int
    /// Draws NULL dim (ANSI SGR 2), for terminals, so it stands apart from the text 'NULL'.
    let highlightNull: Bool

    init(maxCellWidth: Int, highlightNull: Bool = false) {
        self.maxCellWidth = max(1, maxCellWidth)
        self.highlightNull = highlightNull
    }

    /// Tables separated by a blank line.
    func render(_ results: [ResultSet]) -> String {
        results.map(table).joined(separator: "\n")
    }

    private struct Cell {
        let text: String
        let width: Int
        let rightAligned: Bool
        var isNull = false
    }

    private func cell(_ text: String, rightAligned: Bool, isNull: Bool = false) -> Cell {
        let shown = DisplayWidth.truncate(TableCellText.singleLine(text), toWidth: maxCellWidth)
        return Cell(text: shown, width: DisplayWidth.of(shown), rightAligned: rightAligned, isNull: isNull)
    }

    private func table(_ result: ResultSet) -> String {
        let header = result.columns.map { cell($0, rightAligned: false) }
        let body = result.rows.map { row in
            result.columns.indices.map { column in
                let value = result.value(row, column)
                let (text, isNumber) = TableCellText.text(value, maxCellWidth: maxCellWidth)
                return cell(text, rightAligned: isNumber, isNull: value.isNull)
            }
        }
        var widths = header.map(\.width)
        for row in body {
            for (column, cell) in row.enumerated() { widths[column] = max(widths[column], cell.width) }
        }

        let border = "+" + widths.map { String(repeating: "-", count: $0 + 2) }.joined(separator: "+") + "+\n"
        func line(_ cells: [Cell]) -> String {
            var out = "|"
            for (cell, width) in zip(cells, widths) {
                let padding = String(repeating: " ", count: width - cell.width)
                let text = cell.isNull && highlightNull ? "\u{1B}[2m" + cell.text + "\u{1B}[22m" : cell.text
                out += " " + (cell.rightAligned ? padding + text : text + padding) + " |"
            }
            return out + "\n"
        }

        var out = border + line(header) + border
        for row in body { out += line(row) }
        out += border
        out += result.rows.count == 1 ? "(1 row)\n" : "(\(result.rows.count) rows)\n"
        return out
    }
}
