import QuiverReading
import QuiverStorage

extension TableSchema {
    /// The schema of an existing table, as `quiver export --schema` writes it.
    public static func describing(_ table: TableInfo, indexes: [IndexDefinition]) -> TableSchema {
        TableSchema(
            table: table.name,
            key: table.primaryKeyColumn?.name ?? "rowid",
            columns: table.columns.map {
                Column(
                    name: $0.name, type: schemaType(of: $0),
                    required: $0.notNull && $0.primaryKeyPosition == 0 ? true : nil)
            },
            indexes: indexes.isEmpty
                ? nil
                : indexes.map {
                    Index(
                        name: $0.name, column: $0.column, metric: $0.metric.operatorClass, m: $0.m,
                        efConstruction: $0.efConstruction)
                })
    }

    /// The declared type when the schema format takes it, else the type of the same affinity
    /// (VARCHAR(20) → TEXT, DOUBLE → REAL), so the table made from the schema stores the same values.
    private static func schemaType(of column: ColumnInfo) -> String {
        let declared = normalizedType(column.declaredType)
        if allowedTypes.contains(declared) || declared.hasPrefix("VECTOR") { return column.declaredType }
        let type = ColumnType(column)
        return type == .untyped ? "" : type.name
    }
}
