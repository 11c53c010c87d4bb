import QuiverKernels

/// The first page of an index file: what the file holds and where, checked before any offset
/// is trusted.
///
///     0    8  magic "QVRHNSW1"
///     8    4  format version
///     12   4  metric (0 l2, 1 cosine, 2 inner product)
///     16   4  dimension
///     20   4  m
///     24   4  ef_construction
///     28   4  node stride in bytes
///     32   8  node count (slots in use, deleted included)
///     40   8  live count
///     48   4  entry point (0xFFFFFFFF: empty graph)
///     52   4  top level
///     56   8  upper arena length, in words
///     64   8  label count (entries of the sorted label table)
///     72   8  free slot count
///     80   8  last change applied (sequence number in the row store's change log)
///     88   8  offset of the node records      96   8  offset of the float32 vectors
///     104  8  offset of the upper arena       112  8  offset of the label table
///     120  8  offset of the free list         128  8  offset of the quantiser (min, step per dim)
///     136  8  file length
///     144  8  FNV-1a 64 checksum of bytes 0..<144
///     152  24 CRC32C of each region, in file order (see IndexFileChecksums); since version 2
///
/// Every region starts on a page boundary and is padded to one, so each can be mapped alone.
struct IndexFileHeader: Equatable {
    static let magic: [UInt8] = Array("QVRHNSW1".utf8)
    /// 2 added the region checksums; a version 1 file is refused with the advice to REINDEX.
    static let formatVersion: UInt32 = 2
    static let size = 4096
    static let checksumOffset = 144

    var metric: DistanceMetric
    var dimension: Int
    var m: Int
    var efConstruction: Int
    var stride: Int
    var nodeCount: Int
    var liveCount: Int
    var entryPoint: UInt32
    var topLevel: Int
    var upperWords: Int
    var labelCount: Int
    var freeCount: Int
    var appliedSequence: Int64
    var nodesOffset: Int
    var vectorsOffset: Int
    var upperOffset: Int
    var labelsOffset: Int
    var freeOffset: Int
    var quantizerOffset: Int
    var fileLength: Int
    var regionChecksums = IndexFileChecksums()

    enum Problem: Error, Equatable, CustomStringConvertible {
        case tooShort(Int)
        case notAnIndex
        case unsupportedVersion(UInt32)
        case badChecksum
        case inconsistent(String)

        var description: String {
            switch self {
            case .tooShort(let n): "the file is too short to be an index (\(n) bytes)"
            case .notAnIndex: "the file is not a Quiver HNSW index (bad magic)"
            case .unsupportedVersion(1):
                "index format version 1 has no region checksums, so damage to it could go unnoticed (this quiver reads version \(IndexFileHeader.formatVersion))"
            case .unsupportedVersion(let v):
                "index format version \(v) is not supported (this quiver reads version \(IndexFileHeader.formatVersion))"
            case .badChecksum: "the index header is corrupt (checksum mismatch)"
            case .inconsistent(let what): "the index header is inconsistent: \(what)"
            }
        }
    }

    static func metricCode(_ metric: DistanceMetric) -> UInt32 {
        switch metric {
        case .l2: 0
        case .cosine: 1
        case .innerProduct: 2
        }
    }

    func encoded() -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: Self.size)
        func put<T: FixedWidthInteger>(_ value: T, at offset: Int) {
            withUnsafeBytes(of: value.littleEndian) { bytes.replaceSubrange(offset..<(offset + $0.count), with: $0) }
        }
        bytes.replaceSubrange(0..<8, with: Self.magic)
        put(Self.formatVersion, at: 8)
        put(Self.metricCode(metric), at: 12)
        put(UInt32(dimension), at: 16)
        put(UInt32(m), at: 20)
        put(UInt32(efConstruction), at: 24)
        put(UInt32(stride), at: 28)
        put(UInt64(nodeCount), at: 32)
        put(UInt64(liveCount), at: 40)
        put(entryPoint, at: 48)
        put(UInt32(topLevel), at: 52)
        put(UInt64(upperWords), at: 56)
        put(UInt64(labelCount), at: 64)
        put(UInt64(freeCount), at: 72)
        put(appliedSequence, at: 80)
        put(UInt64(nodesOffset), at: 88)
        put(UInt64(vectorsOffset), at: 96)
        put(UInt64(upperOffset), at: 104)
        put(UInt64(labelsOffset), at: 112)
        put(UInt64(freeOffset), at: 120)
        put(UInt64(quantizerOffset), at: 128)
        put(UInt64(fileLength), at: 136)
        put(Self.checksum(bytes[0..<Self.checksumOffset]), at: Self.checksumOffset)
        for (i, value) in regionChecksums.values.enumerated() {
            put(value, at: IndexFileChecksums.headerOffset + 4 * i)
        }
        return bytes
    }

    /// Decodes and checks a header against the actual file length.
    init(decoding bytes: UnsafeRawBufferPointer, actualFileLength: Int) throws(Problem) {
        let end = IndexFileChecksums.headerOffset + 4 * IndexFileChecksums.regionNames.count
        guard bytes.count >= end, actualFileLength >= Self.size else {
            throw .tooShort(actualFileLength)
        }
        func get<T: FixedWidthInteger>(_ type: T.Type, _ offset: Int) -> T {
            T(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
        }
        guard Array(bytes[0..<8]) == Self.magic else { throw .notAnIndex }
        let version = get(UInt32.self, 8)
        guard version == Self.formatVersion else { throw .unsupportedVersion(version) }
        guard get(UInt64.self, Self.checksumOffset) == Self.checksum(bytes[0..<Self.checksumOffset]) else {
            throw .badChecksum
        }
        switch get(UInt32.self, 12) {
        case 0: metric = .l2
        case 1: metric = .cosine
        case 2: metric = .innerProduct
        case let code: throw .inconsistent("unknown metric code \(code)")
        }
        dimension = Int(get(UInt32.self, 16))
        m = Int(get(UInt32.self, 20))
        efConstruction = Int(get(UInt32.self, 24))
        stride = Int(get(UInt32.self, 28))
        nodeCount = Int(clamping: get(UInt64.self, 32))
        liveCount = Int(clamping: get(UInt64.self, 40))
        entryPoint = get(UInt32.self, 48)
        topLevel = Int(get(UInt32.self, 52))
        upperWords = Int(clamping: get(UInt64.self, 56))
        labelCount = Int(clamping: get(UInt64.self, 64))
        freeCount = Int(clamping: get(UInt64.self, 72))
        appliedSequence = get(Int64.self, 80)
        nodesOffset = Int(clamping: get(UInt64.self, 88))
        vectorsOffset = Int(clamping: get(UInt64.self, 96))
        upperOffset = Int(clamping: get(UInt64.self, 104))
        labelsOffset = Int(clamping: get(UInt64.self, 112))
        freeOffset = Int(clamping: get(UInt64.self, 120))
        quantizerOffset = Int(clamping: get(UInt64.self, 128))
        fileLength = Int(clamping: get(UInt64.self, 136))
        regionChecksums.values = regionChecksums.values.indices.map {
            get(UInt32.self, IndexFileChecksums.headerOffset + 4 * $0)
        }
        try validate(actualFileLength: actualFileLength)
    }

    init(parameters: HNSWParameters, layout: NodeLayout) {
        metric = parameters.metric
        dimension = parameters.dimension
        m = parameters.m
        efConstruction = parameters.efConstruction
        stride = layout.stride
        nodeCount = 0
        liveCount = 0
        entryPoint = .max
        topLevel = 0
        upperWords = 0
        labelCount = 0
        freeCount = 0
        appliedSequence = 0
        nodesOffset = Self.size
        vectorsOffset = Self.size
        upperOffset = Self.size
        labelsOffset = Self.size
        freeOffset = Self.size
        quantizerOffset = Self.size
        fileLength = Self.size
    }

    private func validate(actualFileLength: Int) throws(Problem) {
        guard fileLength == actualFileLength else {
            throw .inconsistent("it records \(fileLength) bytes but the file has \(actualFileLength)")
        }
        guard HNSWParameters.dimensionRange.contains(dimension), HNSWParameters.mRange.contains(m) else {
            throw .inconsistent("dimension \(dimension), m \(m)")
        }
        guard stride == NodeLayout(dimension: dimension, m: m).stride else {
            throw .inconsistent("node stride \(stride)")
        }
        guard liveCount <= nodeCount, freeCount <= nodeCount, labelCount <= nodeCount, nodeCount < Int(UInt32.max)
        else {
            throw .inconsistent(
                "counts (nodes \(nodeCount), live \(liveCount), free \(freeCount), labels \(labelCount))")
        }
        guard entryPoint == .max || Int(entryPoint) < nodeCount, topLevel < 64 else {
            throw .inconsistent("entry point \(entryPoint) of \(nodeCount) nodes")
        }
        // Bounded before any product below is formed: a damaged count must not overflow it.
        guard upperWords <= fileLength / 4 else { throw .inconsistent("an upper arena of \(upperWords) words") }
        let regions = [
            (nodesOffset, nodeCount * stride), (vectorsOffset, nodeCount * dimension * 4),
            (upperOffset, upperWords * 4), (labelsOffset, labelCount * 16), (freeOffset, freeCount * 4),
            (quantizerOffset, dimension * 8),
        ]
        var end = Self.size
        for (offset, length) in regions {
            guard offset >= end, offset % MappedRegion.pageSize == 0, offset <= fileLength,
                length <= fileLength - offset
            else {
                throw .inconsistent("a region lies outside the file")
            }
            end = offset + length
        }
    }

    static func checksum(_ bytes: some Collection<UInt8>) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return hash
    }
}
