import QuiverKernels
import QuiverStorage

/// The checks a nearest-neighbour query vector passes before any search, so that a top k is
/// never k arbitrary rows.
public enum QueryVectorCheck {
    /// Throws when the query vector has the wrong length, or when `metric` gives it no distance
    /// to any row: under cosine a zero vector makes every distance NULL.
    public static func validate(_ query: [Float], metric: DistanceMetric, dimension: Int, place: String) throws {
        guard query.count == dimension else {
            throw SQLiteError(
                .unrankableQueryVector(
                    "the query vector has \(query.count) dimensions but \(place) is VECTOR(\(dimension))"))
        }
        if metric == .cosine, !query.contains(where: { $0 != 0 }) {
            throw SQLiteError(
                .unrankableQueryVector(
                    "the query vector for \(place) \(metric.sqlOperator) (cosine distance) is all zeros; cosine distance to a zero vector is undefined, so no row can be ranked"
                ))
        }
    }

    /// Whether `error` is one of these refusals (nested queries pass them on instead of leaving
    /// the query to SQLite, which would rank arbitrarily).
    static func isRefusal(_ error: Error) -> Bool {
        if case .unrankableQueryVector? = (error as? SQLiteError)?.refusal { return true }
        return false
    }
}
