/// A refusal raised while SQLite runs Quiver's code — a `QuiverError` thrown in a SQL function,
/// a denial of the authorizer — kept until the statement's `SQLiteError` takes it: SQLite passes
/// on only text (for some denials, its own: "not authorized to use function"). Each fails its
/// statement, whose error takes the refusal, so none is left over for a later statement.
final class PendingRefusal {
    private var refusal: QuiverError?

    func record(_ error: any Error) { refusal = error as? QuiverError }

    func take() -> QuiverError? {
        defer { refusal = nil }
        return refusal
    }
}
