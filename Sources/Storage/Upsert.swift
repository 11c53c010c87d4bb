/// The statements that write a row by its primary key, given some of the table's columns: the
/// one upsert of `quiver import` (and the shell's `.import`) and of `POST /tables/{table}/rows`.
///
/// A row inserts, or updates the columns it gives where its key exists. SQLite checks NOT NULL
/// on the row an INSERT proposes before ON CONFLICT looks at the key, so when the columns leave
/// out a NOT NULL column the upsert alone would refuse to update such a row: then `update`
/// runs first, and `insert` only inserts a new key (which the NOT NULL column refuses unless it
/// has a default).
public struct Upsert: Sendable, Equatable {
    public let columns: [String]
    /// Runs first when the columns leave out a NOT NULL column: an UPDATE of the given columns
    /// where the key exists. Nil otherwise, and when only the key is given.
    public let update: String?
    /// INSERT … ON CONFLICT (key) DO UPDATE SET the other given columns (DO NOTHING when only the
    /// key is given; a plain INSERT when the key is not among the columns), or, after `update`,
    /// an INSERT of new keys only.
    public let insert: String

    private let table: String
    private let key: String?
    private let keyIndex: Int?
    private let leavesOutRequired: Bool

    /// Values bind as ?1…?n in the order of `columns`, the same for both statements.
    public init(table: TableInfo, columns: [String]) {
        self.columns = columns
        self.table = quoteIdentifier(table.name)
        key = table.primaryKeyColumn.map { quoteIdentifier($0.name) }
        keyIndex = table.primaryKeyColumn.flatMap { key in columns.firstIndex { $0.caseInsensitiveEquals(key.name) } }
        leavesOutRequired =
            keyIndex != nil
            && table.columns.contains { column in
                column.notNull && column.primaryKeyPosition == 0
                    && !columns.contains { $0.caseInsensitiveEquals(column.name) }
            }
        (update, insert) = Self.statements(
            table: self.table, columns: columns, key: key, keyIndex: keyIndex,
            leavesOutRequired: leavesOutRequired, values: columns.indices.map { "?\($0 + 1)" })
    }

    /// The same statements with the values written in (SQL expressions in `columns` order), for a
    /// script sent where values cannot be bound row by row.
    public func statements(values: [String]) -> [String] {
        let (update, insert) = Self.statements(
            table: table, columns: columns, key: key, keyIndex: keyIndex,
            leavesOutRequired: leavesOutRequired, values: values)
        return (update.map { [$0] } ?? []) + [insert]
    }

    private static func statements(
        table: String, columns: [String], key: String?, keyIndex: Int?, leavesOutRequired: Bool,
        values: [String]
    ) -> (update: String?, insert: String) {
        let names = columns.map(quoteIdentifier)
        let given = names.indices.filter { $0 != keyIndex }
        let into = "INSERT INTO \(table) (\(names.joined(separator: ", ")))"
        guard let key, let keyIndex else { return (nil, "\(into) VALUES (\(values.joined(separator: ", ")))") }
        let keyTest = "\(key) = \(values[keyIndex])"
        if leavesOutRequired {
            let update =
                given.isEmpty
                ? nil
                : "UPDATE \(table) SET \(given.map { "\(names[$0]) = \(values[$0])" }.joined(separator: ", ")) WHERE \(keyTest)"
            return (
                update,
                "\(into) SELECT \(values.joined(separator: ", ")) WHERE NOT EXISTS (SELECT 1 FROM \(table) WHERE \(keyTest))"
            )
        }
        let onConflict =
            given.isEmpty
            ? "NOTHING"
            : "UPDATE SET " + given.map { "\(names[$0]) = excluded.\(names[$0])" }.joined(separator: ", ")
        return (nil, "\(into) VALUES (\(values.joined(separator: ", "))) ON CONFLICT (\(key)) DO \(onConflict)")
    }
}
