import CQuiverSIMD
import Dispatch

/// A CRC32C for each region of an index file, kept in its header (format version 2).
///
/// The header's own checksum covers the first page only; damage further in — a label, a link,
/// a vector — would otherwise make searches answer with row ids that no row has. Opening
/// checks every region before the graph is used. A region's checksum is the CRC32C of the
/// CRC32Cs of its 4 MiB chunks, so the chunks are checked on all cores at once.
struct IndexFileChecksums: Equatable {
    /// Where the six checksums start in the header page (past the header checksum).
    static let headerOffset = 152
    static let regionNames = [
        "node records", "vectors", "upper-level links", "label table", "free list", "quantiser ranges",
    ]
    static let chunkBytes = 4 << 20

    /// In the order of `regionNames`, which is the order of the regions in the file.
    var values: [UInt32] = Array(repeating: 0, count: regionNames.count)

    /// The checksums of `regions` (in the order of `regionNames`).
    static func of(_ regions: [UnsafeRawBufferPointer]) -> IndexFileChecksums {
        precondition(regions.count == regionNames.count)
        let chunks = regions.map { ($0.count + chunkBytes - 1) / chunkBytes }
        let starts = chunks.reduce(into: [0]) { $0.append($0.last! + $1) }
        let total = starts.last!
        var sums = [UInt32](repeating: 0, count: total)
        sums.withUnsafeMutableBufferPointer { out in
            // Each chunk writes its own slot; the regions are only read.
            nonisolated(unsafe) let out = out
            nonisolated(unsafe) let regions = regions
            DispatchQueue.concurrentPerform(iterations: total) { i in
                let region = regions.indices.last { starts[$0] <= i }! // empty regions hold no chunk
                let bytes = regions[region]
                let from = (i - starts[region]) * chunkBytes
                out[i] = quiver_crc32c(0, bytes.baseAddress! + from, min(chunkBytes, bytes.count - from))
            }
        }
        return IndexFileChecksums(
            values: regions.indices.map { r in
                sums[starts[r]..<starts[r + 1]].withUnsafeBytes { quiver_crc32c(0, $0.baseAddress, $0.count) }
            })
    }

    /// The name of the first region of `regions` whose bytes do not match, or nil.
    func firstDamagedRegion(_ regions: [UnsafeRawBufferPointer]) -> String? {
        let actual = Self.of(regions).values
        return regions.indices.first { actual[$0] != values[$0] }.map { Self.regionNames[$0] }
    }
}
