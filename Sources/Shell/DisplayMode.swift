/// How results are printed (`.mode`).
public enum DisplayMode: String, CaseIterable, Sendable {
    case table, json, jsonl, csv, line

    /// Modes for people carry the row count (and time) with the rows; the machine formats keep
    /// their output clean and say it on the terminal instead.
    var isForPeople: Bool { self == .table || self == .line }
}
