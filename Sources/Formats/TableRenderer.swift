import QuiverStorage

/// Bordered, aligned tables for people. Widths are display widths, so CJK text and
/// emoji line up, and every line of a table ends at the same column.
struct TableRenderer {
    let maxCellWidth: Int

    init(maxCellWidth: Int) {
        self.maxCellWidth = max(1, maxCellWidth)
    }

    /// Tables separated by a blank line.
    func render(_ results: [ResultSet]) -> String {
        results.map(table).joined(separator: "\n")
    }

    private struct Cell {
        let text: String
        let width: Int
        let rightAligned: Bool
    }

    private func cell(_ text: String, rightAligned: Bool) -> Cell {
        let shown = DisplayWidth.truncate(TableCellText.singleLine(text), toWidth: maxCellWidth)
        return Cell(text: shown, width: DisplayWidth.of(shown), rightAligned: rightAligned)
    }

    private func table(_ result: ResultSet) -> String {
        let header = result.columns.map { cell($0, rightAligned: false) }
        let body = result.rows.map { row in
            result.columns.indices.map { column in
                let (text, isNumber) = TableCellText.text(result.value(row, column), maxCellWidth: maxCellWidth)
                return cell(text, rightAligned: isNumber)
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
                out += " " + (cell.rightAligned ? padding + cell.text : cell.text + padding) + " |"
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
