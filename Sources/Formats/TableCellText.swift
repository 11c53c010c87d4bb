import Foundation
import QuiverStorage

/// How one value reads in a table cell: short, on one line, and safe to print to a terminal.
enum TableCellText {
    /// The cell text and whether it is a number (numbers are right-aligned).
    static func text(_ value: SQLValue, maxCellWidth: Int) -> (String, Bool) {
        switch value {
        case .null: ("NULL", false)
        case .integer(let n): ("\(n)", true)
        case .real(let x): (ValueText.number(x), true)
        case .text(let s): (s, false)
        case .blob(let bytes): (blobLiteral(bytes, maxCellWidth: maxCellWidth), false)
        case .vector(let v): (vectorSummary(v), false)
        }
    }

    /// Short vectors whole; longer ones as the first two elements and the dimension
    /// count, since hundreds of floats say nothing to a reader.
    static func vectorSummary(_ vector: [Float]) -> String {
        if vector.count <= 4 {
            return "[" + vector.map { "\($0)" }.joined(separator: ", ") + "]"
        }
        let head = vector.prefix(2).map { $0.isFinite ? String(format: "%.2f", Double($0)) : "\($0)" }
        return "[" + head.joined(separator: ", ") + ", … \(vector.count) dims]"
    }

    /// An SQL blob literal, X'…', of only as many bytes as can be shown; a cut one
    /// is wider than the cell, so the table's truncation marks it with "…".
    static func blobLiteral(_ bytes: [UInt8], maxCellWidth: Int) -> String {
        let digits: [Character] = Array("0123456789ABCDEF")
        let shown = bytes.prefix(maxCellWidth / 2)
        var text = "X'"
        for byte in shown {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0xF)])
        }
        return text + (shown.count == bytes.count ? "'" : "…")
    }

    /// Line breaks become "↵" and tabs spaces so a row stays one line; other control
    /// characters become their visible Control Pictures (␛) so they cannot move the cursor.
    static func singleLine(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }) else {
            return text
        }
        var out = String.UnicodeScalarView()
        var previousWasCR = false
        for scalar in text.unicodeScalars {
            defer { previousWasCR = scalar == "\r" }
            switch scalar.value {
            case 0x0A where previousWasCR: continue // CRLF is one break
            case 0x0A, 0x0D: out.append("↵")
            case 0x09: out.append(" ")
            case 0x00..<0x20: out.append(Unicode.Scalar(0x2400 + scalar.value)!)
            case 0x7F: out.append("\u{2421}")
            case 0x80...0x9F: out.append("\u{FFFD}")
            default: out.append(scalar)
            }
        }
        return String(out)
    }
}
