import CBLAS

/// Batched dot products on BLAS: one query against a block of rows (sgemv), or many queries
/// against a block (sgemm). This is where bulk distance work goes; single pairs use `PairDistance`.
public enum BLASScoring {
    /// `out[r] = dot(rows[r], query)` for a row-major block of `rowCount × dimension` floats.
    public static func dots(
        rows: UnsafePointer<Float>, rowCount: Int, dimension: Int,
        query: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>
    ) {
        guard rowCount > 0 else { return }
        cblas_sgemv(
            CblasRowMajor, CblasNoTrans, Int32(rowCount), Int32(dimension), 1,
            rows, Int32(dimension), query, 1, 0, out, 1)
    }

    /// One pair through BLAS (measured for comparison only: too slow per pair, see BENCHMARKS.md).
    public static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        cblas_sdot(Int32(count), a, 1, b, 1)
    }

    /// `out[q * rowCount + r] = dot(queries[q], rows[r])`: all queries against all rows of a block.
    public static func dots(
        rows: UnsafePointer<Float>, rowCount: Int, dimension: Int,
        queries: UnsafePointer<Float>, queryCount: Int,
        into out: UnsafeMutablePointer<Float>
    ) {
        guard rowCount > 0, queryCount > 0 else { return }
        cblas_sgemm(
            CblasRowMajor, CblasNoTrans, CblasTrans, Int32(queryCount), Int32(rowCount),
            Int32(dimension), 1, queries, Int32(dimension), rows, Int32(dimension), 0, out,
            Int32(rowCount))
    }
}
