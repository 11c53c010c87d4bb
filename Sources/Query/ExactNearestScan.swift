import QuiverKernels
import QuiverStorage

/// Step 1 of a nearest-neighbour plan: runs the candidate scan in SQLite and keeps the top k.
///
/// Rows stream from SQLite into blocks of `blockRows` vectors; each full block is scored with one
/// BLAS call (see `ExactTopK`). Rows whose vector is NULL have no distance; they rank after all
/// others, as `NULLS LAST` orders them in the final statement.
struct ExactNearestScan {
    static let blockRows = 1024

    struct Outcome {
        var rows: [ScoredRow]
        var rowsScanned: Int
    }

    static func run(
        connection: Connection, sql: String, bindings: SQLBindings, query: [Float],
        metric: DistanceMetric, k: Int, place: String
    ) throws -> Outcome {
        let dimension = query.count
        let statement = try connection.prepare(sql)
        try statement.bind(bindings)
        var topK = ExactTopK(metric: metric, query: query, k: k)
        var block = [Float](repeating: 0, count: blockRows * dimension)
        var ids = [Int64](repeating: 0, count: blockRows)
        var filled = 0
        var undefined: [Int64] = []
        var scanned = 0

        func flush() {
            block.withUnsafeBufferPointer { rows in
                ids.withUnsafeBufferPointer { topK.add(rows: rows.baseAddress!, ids: $0.baseAddress!, count: filled) }
            }
            filled = 0
        }

        while try statement.step() {
            scanned += 1
            let id = statement.int64(at: 0)
            if statement.isNull(at: 1) {
                if undefined.count < k { undefined.append(id) }
                continue
            }
            let bytes = statement.blobBytes(at: 1)
            if statement.isBlob(at: 1), bytes.count == dimension * 4 {
                block.withUnsafeMutableBytes { target in
                    (target.baseAddress! + filled * dimension * 4).copyMemory(
                        from: bytes.baseAddress!, byteCount: bytes.count)
                }
            } else {
                // Not in canonical form (written by a tool that bypassed Quiver): parse it.
                let parsed = try VectorCodec.parseStored(
                    statement.value(at: 1), dimension: dimension, place: place, rowid: id)
                block.replaceSubrange((filled * dimension)..<((filled + 1) * dimension), with: parsed)
            }
            ids[filled] = id
            filled += 1
            if filled == blockRows { flush() }
        }
        flush()
        var rows = topK.finish()
        if rows.count < k {
            rows += undefined.prefix(k - rows.count).map { ScoredRow(id: $0, distance: .nan) }
        }
        return Outcome(rows: rows, rowsScanned: scanned)
    }
}
