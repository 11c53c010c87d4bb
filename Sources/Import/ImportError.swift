/// Why an import stopped. Every case leaves the database as it was before the import
/// (with `--on-error skip`, as it was plus the batches already committed).
public enum ImportError: Error, CustomStringConvertible {
    /// The input does not fit the table (or no table can be made from it); nothing was read.
    case plan(String)
    /// A bad record under `--on-error abort`: FILE:LINE and why.
    case rejected(path: String, line: Int, reason: String)
    /// Stopped by `Database.interrupt()` (Ctrl-C in the shell) while writing the record at FILE:LINE.
    case interrupted(path: String, line: Int)
    /// The side vector file and the records disagree on their number.
    case vectorCount(path: String, vectors: Int, records: Int)

    public var description: String {
        switch self {
        case .plan(let message): message
        case .rejected(let path, let line, let reason): "\(path):\(line): \(reason)"
        case .interrupted(let path, let line): "\(path):\(line): interrupted"
        case .vectorCount(let path, let vectors, let records):
            "\(path) holds \(vectors) vectors but the input has \(records) records; they must pair up row by row"
        }
    }
}
