import QuiverKernels
import QuiverStorage

/// The checks a nearest-neighbour query vector passes before any search, so that a top k is
/// never k arbitrary rows.
public enum QueryVectorCheck {
    /// What every refusal's message starts with (nested queries pass these on instead of
    /// leaving the query to SQLite).
    static let prefix = "the query vector"

    /// Throws when the query vector has the wrong length, or when `metric` gives it no distance
    /// to any row: under cosine a zero vector makes every distance NULL.
    public static func validate(_ query: [Float], metric: DistanceMetric, dimension: Int, place: String) throws {
        guard query.count == dimension else {
            throw SQLiteError(message: "\(prefix) has \(query.count) dimensions but \(place) is VECTOR(\(dimension))")
        }
        if metric == .cosine, !query.contains(where: { $0 != 0 }) {
            throw SQLiteError(message: "\(prefix) for \(place) \(metric.sqlOperator) (cosine distance) is all zeros; cosine distance to a zero vector is undefined, so no row can be ranked")
        }
    }

    static func isRefusal(_ error: Error) -> Bool {
        (error as? SQLiteError)?.message.hasPrefix(prefix) ?? false
    }
}
