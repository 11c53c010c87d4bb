import Foundation

/// How far a long piece of work has got — a DEDUPE, an index build, an import — so that a
/// terminal can say what really runs. One type for every long statement and command, whatever
/// layer does the work.
public struct Progress: Sendable, Equatable, CustomStringConvertible {
    /// What is counted.
    public enum Unit: String, Sendable {
        case rows, vectors, pairs, blocks, cells, bands, iterations, bytes
    }

    /// What runs, as the user would name it: "DEDUPE reading rows", "building index docs_embedding".
    public var activity: String
    /// Units done of `total`; `total` is 0 when unknown.
    public var done: Int
    public var total: Int
    public var unit: Unit

    public init(_ activity: String, done: Int, total: Int, unit: Unit) {
        self.activity = activity
        self.done = done
        self.total = total
        self.unit = unit
    }

    /// Share done, 0…1 (0 when the total is unknown).
    public var fraction: Double { total > 0 ? min(1, Double(done) / Double(total)) : 0 }

    /// "building index docs_embedding: 46%, 4,608/10,000 vectors", or without a total
    /// "DEDUPE reading rows: 4,096 rows".
    public var description: String {
        guard total > 0 else { return "\(activity): \(Self.grouped(done)) \(unit.rawValue)" }
        return "\(activity): \(Int(fraction * 100))%, \(Self.grouped(done))/\(Self.grouped(total)) \(unit.rawValue)"
    }

    /// 1234567 → "1,234,567".
    static func grouped(_ n: Int) -> String {
        let digits = String(n.magnitude)
        var out = ""
        for (i, digit) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(digit)
        }
        return n < 0 ? "-" + out : out
    }
}
