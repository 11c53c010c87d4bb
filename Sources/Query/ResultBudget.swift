import QuiverStorage

/// A bound on how much a script's results may hold, counted as rows are read so that reading
/// stops as soon as it is passed, rather than after the whole answer is built (a server must
/// not build a 200 MB answer to refuse it). Sizes are those of the values in JSON, roughly.
public final class ResultBudget {
    public let limit: Int
    public private(set) var used = 0

    public init(limit: Int) { self.limit = limit }

    /// Starts counting again (at the start of a script).
    public func reset() { used = 0 }

    func spend(on row: [SQLValue], rowsSoFar: Int) throws {
        for value in row { used += Self.jsonSize(value) + 1 }
        if used > limit { throw ResultTooLarge(limit: limit, rowsRead: rowsSoFar + 1) }
    }

    static func jsonSize(_ value: SQLValue) -> Int {
        switch value {
        case .null: 4
        case .integer: 20
        case .real: 24
        case .text(let text): text.utf8.count + 2
        case .blob(let bytes): (bytes.count + 2) / 3 * 4 + 14
        case .vector(let floats): floats.count * 12 + 2
        }
    }
}

/// The results of a script grew past `ResultBudget.limit`; nothing of them is returned.
public struct ResultTooLarge: Error, CustomStringConvertible {
    public var limit: Int
    public var rowsRead: Int
    public var description: String {
        "the results are larger than the limit of \(limit) bytes (passed at row \(rowsRead) of a statement); select fewer rows or columns, or smaller values"
    }
}
