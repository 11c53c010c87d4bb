import Foundation

/// Text forms of values shared by the machine-readable formats, chosen so that
/// reading them back yields the same bits.
public enum ValueText {
    /// Swift's description is the shortest text that parses back to the same Double.
    public static func number(_ value: Double) -> String {
        "\(value)"
    }

    /// JSON has no NaN or infinity, so those become null.
    /// JSON has no infinity; an infinite REAL is written as Python's json module and
    /// `quiver export` write it (`Infinity`, `-Infinity`), not as null, which would read as NULL.
    /// (SQLite stores no NaN: it turns NaN into NULL.)
    public static func jsonNumber(_ value: Double) -> String {
        value.isFinite ? "\(value)" : value.isNaN ? "null" : value < 0 ? "-Infinity" : "Infinity"
    }

    /// A JSON array whose numbers parse back to the same Floats (shortest Float text, not Double).
    public static func vectorJSON(_ vector: [Float]) -> String {
        var text = "["
        for (i, element) in vector.enumerated() {
            if i > 0 { text += "," }
            text += element.isFinite ? "\(element)" : "null"
        }
        return text + "]"
    }

    public static func base64(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString()
    }

    /// A JSON string literal: quote, backslash and control characters escaped, other
    /// characters (including non-ASCII) kept as UTF-8. U+2028/2029 are escaped too
    /// because JavaScript string literals cannot hold them raw.
    public static func jsonString(_ text: String) -> String {
        var out = "\""
        out.unicodeScalars.reserveCapacity(text.utf8.count + 2)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\u{2028}": out += "\\u2028"
            case "\u{2029}": out += "\\u2029"
            default:
                if scalar.value < 0x20 {
                    out +=
                        "\\u00" + String(hexDigits[Int(scalar.value >> 4)]) + String(hexDigits[Int(scalar.value & 0xF)])
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    private static let hexDigits: [Character] = Array("0123456789ABCDEF")
}
