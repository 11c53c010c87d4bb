/// Where the fields of a level-0 node record sit. Every node has one record of `stride` bytes
/// in one contiguous region, holding what a walk step reads side by side — the neighbour list
/// and the vector's 8-bit codes — so one hop touches one small region of memory (hnswlib's
/// layout, with codes instead of floats):
///
///     0                 u32   number of level-0 neighbours
///     4                 u32 × M0 neighbour ids
///     labelOffset       i64   label (the row's rowid)
///     flagsOffset       u32   NodeFlags
///     levelOffset       u32   top level of this node (0 for most)
///     upperOffset       u32   index of its upper-level links in the upper arena (in words)
///     normOffset        f32   squared norm of the stored vector (for L2 over codes)
///     codesOffset       u8 × dim  quantised vector (see Quantizer)
///
/// The float32 vectors (normalised for cosine) live in their own region, indexed by node id,
/// read only to re-rank final candidates and while building. Upper-level links live in an
/// arena: for a node of level L, L blocks of (1 + M) words, each a count followed by M ids.
struct NodeLayout: Sendable, Equatable {
    let dimension: Int
    let m: Int
    let m0: Int
    let labelOffset: Int
    let flagsOffset: Int
    let levelOffset: Int
    let upperOffset: Int
    let normOffset: Int
    let codesOffset: Int
    let stride: Int

    init(dimension: Int, m: Int) {
        self.dimension = dimension
        self.m = m
        m0 = 2 * m
        let linksEnd = 4 + 4 * m0
        labelOffset = (linksEnd + 7) & ~7
        flagsOffset = labelOffset + 8
        levelOffset = flagsOffset + 4
        upperOffset = levelOffset + 4
        normOffset = upperOffset + 4
        codesOffset = (normOffset + 4 + 15) & ~15
        stride = (codesOffset + dimension + 63) & ~63
    }

    /// Words one upper level takes in the arena.
    var upperBlockWords: Int { 1 + m }
    var vectorBytes: Int { 4 * dimension }
}

enum NodeFlags {
    static let deleted: UInt32 = 1
    /// Set while a parallel insert is still linking the node: other inserts must not enter the
    /// graph through it (its lower lists are still empty) nor add links to it (they would be
    /// overwritten). hnswlib gets the same effect by holding the node's lock for the whole insert.
    static let linking: UInt32 = 2
}
