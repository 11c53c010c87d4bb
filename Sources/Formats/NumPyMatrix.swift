/// A 2-D array read from or written to a `.npy` file.
public struct NumPyMatrix<Element: Sendable & Equatable>: Sendable, Equatable {
    public let rows: Int
    public let columns: Int
    /// Row-major: element (r, c) is `values[r * columns + c]`.
    public var values: [Element]

    public init(rows: Int, columns: Int, values: [Element]) {
        precondition(
            rows >= 0 && columns >= 0 && rows * columns == values.count,
            "NumPyMatrix: \(rows) × \(columns) does not match \(values.count) values")
        self.rows = rows
        self.columns = columns
        self.values = values
    }

    /// Row `r` as a slice of `values`, without copying.
    public subscript(row r: Int) -> ArraySlice<Element> {
        values[r * columns..<(r + 1) * columns]
    }
}
