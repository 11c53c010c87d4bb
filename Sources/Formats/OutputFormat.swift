/// The `--format` choices for printing query results.
public enum OutputFormat: String, Sendable, CaseIterable {
    /// Aligned, bordered text for people.
    case table
    /// One JSON array of row objects (an array of such arrays for several statements).
    case json
    /// One JSON object per line, for streaming tools such as `jq -c`.
    case jsonl
    /// RFC 4180 comma-separated values with a header line.
    case csv
}
