import Foundation

/// How far a long piece of work has got — a DEDUPE, an index build, an import — so that a
/// terminal can say what really runs. One type for every long statement and command, whatever
/// layer does the work.
public struct Progress: Sendable, Equatable, CustomStringConvertible {
    /// What is counted.
    public enum Unit: String, Sendable {
        case rows, vectors, pairs, blocks, cells, bands, iterations, bytes
    }

    /// A count in a unit of its own.
    public struct Count: Sendable, Equatable {
        public var value: Int
        public var unit: Unit

        public init(_ value: Int, _ unit: Unit) {
            self.value = value
            self.unit = unit
        }
    }

    /// What runs, as the user would name it: "DEDUPE reading rows", "building index docs_embedding".
    public var activity: String
    /// Units done of `total`; `total` is 0 when unknown.
    public var done: Int
    public var total: Int
    public var unit: Unit
    /// The same work counted in a second unit, when one count alone does not say enough: an
    /// import goes by the bytes of its file, and the rows read are what its user knows.
    public var alongside: Count?
    /// Seconds since the work started, for work that keeps its own time (rates, time left).
    public var elapsed: Double?

    public init(
        _ activity: String, done: Int, total: Int, unit: Unit, alongside: Count? = nil, elapsed: Double? = nil
    ) {
        self.activity = activity
        self.done = done
        self.total = total
        self.unit = unit
        self.alongside = alongside
        self.elapsed = elapsed
    }

    /// Share done, 0…1 (0 when the total is unknown).
    public var fraction: Double { total > 0 ? min(1, Double(done) / Double(total)) : 0 }

    /// "building index docs_embedding: 46%, 4,608/10,000 vectors", without a total
    /// "DEDUPE reading rows: 4,096 rows", with a second count "importing docs.jsonl: 50%,
    /// 5,242,880/10,485,760 bytes, 12,000 rows"; the activity alone while nothing is counted.
    public var description: String {
        var counts: [String] = []
        if total > 0 {
            counts.append("\(Int(fraction * 100))%, \(Self.grouped(done))/\(Self.grouped(total)) \(unit.rawValue)")
        } else if done > 0 {
            counts.append("\(Self.grouped(done)) \(unit.rawValue)")
        }
        if let alongside { counts.append("\(Self.grouped(alongside.value)) \(alongside.unit.rawValue)") }
        return counts.isEmpty ? activity : "\(activity): \(counts.joined(separator: ", "))"
    }

    /// 1234567 → "1,234,567": how counts of long work are written, in its progress and in
    /// the summaries after it.
    public static func grouped(_ n: Int) -> String {
        let digits = String(n.magnitude)
        var out = ""
        for (i, digit) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(digit)
        }
        return n < 0 ? "-" + out : out
    }
}
