/// Where the fields of a level-0 node record sit. Every node has one record of `stride` bytes
/// in one contiguous region: neighbour list, label and vector side by side, so one hop of a
/// search touches one region of memory (hnswlib's layout).
///
///     0                 u32   number of level-0 neighbours
///     4                 u32 × M0 neighbour ids
///     labelOffset       i64   label (the row's rowid)
///     flagsOffset       u32   bit 0: deleted
///     levelOffset       u32   top level of this node (0 for most)
///     upperOffset       u32   index of its upper-level links in the upper arena (in words)
///     vectorOffset      f32 × dim (normalised for cosine)
///
/// Upper-level links live in a separate arena: for a node of level L, L blocks of
/// (1 + M) words, each a count followed by M ids.
struct NodeLayout: Sendable, Equatable {
    let dimension: Int
    let m: Int
    let m0: Int
    let labelOffset: Int
    let flagsOffset: Int
    let levelOffset: Int
    let upperOffset: Int
    let vectorOffset: Int
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
        vectorOffset = (upperOffset + 4 + 15) & ~15
        stride = (vectorOffset + 4 * dimension + 63) & ~63
    }

    /// Words one upper level takes in the arena.
    var upperBlockWords: Int { 1 + m }
}

enum NodeFlags {
    static let deleted: UInt32 = 1
    /// Set while a parallel insert is still linking the node: other inserts must not enter the
    /// graph through it (its lower lists are still empty) nor add links to it (they would be
    /// overwritten). hnswlib gets the same effect by holding the node's lock for the whole insert.
    static let linking: UInt32 = 2
}
