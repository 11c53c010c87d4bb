/// A node and its distance to the query, ordered by distance.
struct Candidate {
    var distance: Float
    var node: UInt32
}

/// Binary heap over candidates; `Max` puts the farthest on top (the result set), otherwise the
/// nearest (the frontier still to expand).
struct CandidateHeap<Order: HeapOrder> {
    private(set) var storage: ContiguousArray<Candidate> = []

    var count: Int { storage.count }
    var isEmpty: Bool { storage.isEmpty }
    var top: Candidate { storage[0] }

    mutating func removeAll() { storage.removeAll(keepingCapacity: true) }

    @inline(__always)
    mutating func push(_ c: Candidate) {
        storage.append(c)
        storage.withUnsafeMutableBufferPointer { h in
            var child = h.count - 1
            while child > 0 {
                let parent = (child - 1) >> 1
                guard Order.before(h[child].distance, h[parent].distance) else { break }
                h.swapAt(child, parent)
                child = parent
            }
        }
    }

    @inline(__always) @discardableResult
    mutating func pop() -> Candidate {
        let top = storage[0]
        let last = storage.removeLast()
        if !storage.isEmpty {
            storage.withUnsafeMutableBufferPointer { h in
                h[0] = last
                var parent = 0
                let n = h.count
                while true {
                    let left = 2 * parent + 1
                    if left >= n { break }
                    var best = left
                    if left + 1 < n, Order.before(h[left + 1].distance, h[left].distance) { best = left + 1 }
                    guard Order.before(h[best].distance, h[parent].distance) else { break }
                    h.swapAt(parent, best)
                    parent = best
                }
            }
        }
        return top
    }

    /// The contents nearest first (destroys the heap).
    mutating func drainAscending() -> [Candidate] {
        var out: [Candidate] = []
        out.reserveCapacity(count)
        while !isEmpty { out.append(pop()) }
        return Order.self == FarthestFirst.self ? out.reversed() : out
    }
}

protocol HeapOrder { static func before(_ a: Float, _ b: Float) -> Bool }
enum NearestFirst: HeapOrder { @inline(__always) static func before(_ a: Float, _ b: Float) -> Bool { a < b } }
enum FarthestFirst: HeapOrder { @inline(__always) static func before(_ a: Float, _ b: Float) -> Bool { a > b } }

/// Which nodes one search has seen. Cleared in O(1) by bumping an epoch instead of zeroing
/// the array (hnswlib's trick); zeroed only when the 16-bit epoch wraps.
final class VisitedSet {
    private(set) var tags: UnsafeMutablePointer<UInt16>
    private(set) var capacity: Int
    private var epoch: UInt16 = 1

    init(capacity: Int) {
        self.capacity = max(capacity, 1024)
        tags = .allocate(capacity: self.capacity)
        tags.initialize(repeating: 0, count: self.capacity)
    }

    deinit { tags.deallocate() }

    func reset(capacity needed: Int) {
        if needed > capacity {
            tags.deallocate()
            capacity = max(needed, capacity * 2)
            tags = .allocate(capacity: capacity)
            tags.initialize(repeating: 0, count: capacity)
            epoch = 1
            return
        }
        epoch &+= 1
        if epoch == 0 {
            tags.update(repeating: 0, count: capacity)
            epoch = 1
        }
    }

    /// Marks `node` seen; true when it was not seen before in this search.
    @inline(__always)
    func insert(_ node: UInt32) -> Bool {
        let slot = tags + Int(node)
        if slot.pointee == epoch { return false }
        slot.pointee = epoch
        return true
    }
}

/// Everything one search needs besides the graph, reused across searches of a thread.
final class SearchScratch {
    let visited: VisitedSet
    var frontier = CandidateHeap<NearestFirst>()
    var results = CandidateHeap<FarthestFirst>()
    var neighbours: [UInt32] = []
    /// Distance computations since the last reset (for EXPLAIN ANALYZE and benchmarks).
    var distanceCount = 0
    /// The query as prepared for the graph, and its code weights (see Quantizer).
    private(set) var query: UnsafeMutablePointer<Float>
    private(set) var weights: UnsafeMutablePointer<Float>
    private var dimension: Int

    /// Rejected nodes whose neighbours a two-hop walk already looked past.
    private(set) lazy var hopped = VisitedSet(capacity: visited.capacity)

    init(capacity: Int, dimension: Int) {
        visited = VisitedSet(capacity: capacity)
        self.dimension = dimension
        query = .allocate(capacity: dimension)
        weights = .allocate(capacity: dimension)
    }

    deinit {
        query.deallocate()
        weights.deallocate()
    }
}
