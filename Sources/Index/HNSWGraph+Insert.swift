import CQuiverSIMD
import Foundation

/// Changes to the graph: insert (or reuse a deleted slot), update in place, delete.
/// Safe to run from several threads at once (bulk build): link lists are read and written
/// under striped locks, allocation and the entry point under `allocationLock`.
extension HNSWGraph {
    struct Full: Error, CustomStringConvertible {
        var description: String { "the index cannot hold more than \(UInt32.max - 1) nodes" }
    }

    /// Inserts or replaces the vector for `label`. `vector` is as the row stores it.
    @discardableResult
    func upsert(label: Int64, vector source: UnsafePointer<Float>, scratch: SearchScratch) throws -> UInt32 {
        if let existing = labels.node(for: label) {
            store(source, in: existing)
            try reconnect(existing, scratch: scratch)
            return existing
        }
        allocationLock.lock()
        if let slot = freeSlots.popLast() {
            // Reuse a deleted node's record: same level, new label and vector, links repaired.
            liveCount += 1
            labels.set(label, slot)
            allocationLock.unlock()
            record(slot).storeBytes(of: label, toByteOffset: layout.labelOffset, as: Int64.self)
            store(source, in: slot)
            record(slot).storeBytes(of: 0, toByteOffset: layout.flagsOffset, as: UInt32.self)
            try reconnect(slot, scratch: scratch)
            return slot
        }
        allocationLock.unlock()
        let node = try allocate(label: label)
        store(source, in: node)
        try link(node, scratch: scratch)
        return node
    }

    /// Writes a node's float32 vector (prepared), its codes and its squared norm.
    private func store(_ source: UnsafePointer<Float>, in node: UInt32) {
        let target = vector(node)
        prepare(source, into: target)
        let clamped = quantizer.encode(target, into: codes(node))
        record(node).storeBytes(
            of: quiver_dot_f32(target, target, dimension), toByteOffset: layout.normOffset, as: Float.self)
        allocationLock.lock()
        if clamped > 0 { outliers.insert(node) } else { outliers.remove(node) }
        allocationLock.unlock()
    }

    /// Marks the node of `label` deleted: it still routes searches but is never a result, and
    /// its slot goes to the next insert.
    func delete(label: Int64) {
        guard let node = labels.node(for: label) else { return }
        allocationLock.lock()
        defer { allocationLock.unlock() }
        guard !isDeleted(node) else { return }
        record(node).storeBytes(of: flags(node) | NodeFlags.deleted, toByteOffset: layout.flagsOffset, as: UInt32.self)
        labels.remove(label)
        freeSlots.append(node)
        liveCount -= 1
    }

    /// Makes room for `additional` more nodes before a parallel build, so no thread grows a region.
    func reserve(additional: Int) throws {
        try nodes.ensure((nodeCount + additional) * layout.stride)
        try vectors.ensure((nodeCount + additional) * layout.vectorBytes)
        // Expected upper levels per node: 1/(M-1); leave generous slack.
        let words = (additional / max(layout.m - 1, 1) + 64) * 2 * layout.upperBlockWords
        try upper.ensure((upperWords + words) * 4)
    }

    /// Fits the quantiser to the vectors now in the graph (and `pending`, rows about to be
    /// inserted, as stored) and re-encodes every node. For an index that started small or
    /// empty, or whose data drifted out of the fitted ranges.
    func refitQuantizer(including pending: [Float] = []) {
        var live: [Float] = []
        live.reserveCapacity(liveCount * dimension + pending.count)
        if !pending.isEmpty {
            var prepared = [Float](repeating: 0, count: dimension)
            for start in stride(from: 0, to: pending.count, by: dimension) {
                pending.withUnsafeBufferPointer { prepare($0.baseAddress! + start, into: &prepared) }
                live += prepared
            }
        }
        for n in 0..<UInt32(nodeCount) where !isDeleted(n) {
            live.append(contentsOf: UnsafeBufferPointer(start: vector(n), count: dimension))
        }
        quantizer = live.withUnsafeBufferPointer {
            Quantizer.fitted(to: $0, dimension: dimension, fallbackRange: parameters.metric == .cosine ? 1 : 0)
        }
        for n in 0..<UInt32(nodeCount) { quantizer.encode(vector(n), into: codes(n)) }
        outliers.removeAll()
    }

    /// True when so many nodes fell outside the quantiser's ranges that scoring them exactly on
    /// every search costs more than re-encoding.
    var quantizerNeedsRefit: Bool { outliers.count > max(64, liveCount / 100) }

    // MARK: allocation

    private func randomLevel() -> Int {
        allocationLock.lock()
        let u = Double.random(in: Double.ulpOfOne..<1, using: &random)
        allocationLock.unlock()
        return min(Int(-log(u) * parameters.levelMultiplier), 32)
    }

    private func allocate(label: Int64) throws -> UInt32 {
        let level = randomLevel()
        allocationLock.lock()
        defer { allocationLock.unlock() }
        guard nodeCount < Int(UInt32.max - 1) else { throw Full() }
        let node = UInt32(nodeCount)
        try nodes.ensure((nodeCount + 1) * layout.stride)
        try vectors.ensure((nodeCount + 1) * layout.vectorBytes)
        let r = record(node)
        r.initializeMemory(as: UInt8.self, repeating: 0, count: layout.stride)
        r.storeBytes(of: label, toByteOffset: layout.labelOffset, as: Int64.self)
        r.storeBytes(of: UInt32(level), toByteOffset: layout.levelOffset, as: UInt32.self)
        r.storeBytes(of: NodeFlags.linking, toByteOffset: layout.flagsOffset, as: UInt32.self)
        if level > 0 {
            let words = level * layout.upperBlockWords
            try upper.ensure((upperWords + words) * 4)
            (upper.base.assumingMemoryBound(to: UInt32.self) + upperWords).initialize(repeating: 0, count: words)
            r.storeBytes(of: UInt32(upperWords), toByteOffset: layout.upperOffset, as: UInt32.self)
            upperWords += words
        }
        nodeCount += 1
        liveCount += 1
        labels.set(label, node)
        return node
    }

    // MARK: linking

    /// Links a new node into every level it has (hnswlib's addPoint).
    private func link(_ node: UInt32, scratch: SearchScratch) throws {
        defer {
            linkLocks.withLock(node) {
                record(node).storeBytes(
                    of: flags(node) & ~NodeFlags.linking, toByteOffset: layout.flagsOffset, as: UInt32.self)
            }
        }
        let nodeLevel = level(node)
        let raisesTop = nodeLevel > currentTop().level
        if raisesTop { topLevelLock.lock() }
        defer { if raisesTop { topLevelLock.unlock() } }
        // The first node becomes the entry point; checked and set under one lock so that two
        // threads starting together cannot both believe they are first.
        allocationLock.lock()
        if entryPoint == Self.noNode {
            entryPoint = node
            topLevel = nodeLevel
            allocationLock.unlock()
            return
        }
        let entry = entryPoint
        let top = topLevel
        allocationLock.unlock()
        try descendAndConnect(node, from: entry, top: top, scratch: scratch)
        if nodeLevel > top { setTop(node, nodeLevel) }
    }

    /// Walks down from the entry point to the node's level, then on each of its levels finds
    /// ef_construction candidates by walking codes, re-ranks them exactly, and connects.
    private func descendAndConnect(_ node: UInt32, from entry: UInt32, top: Int, scratch: SearchScratch) throws {
        let nodeLevel = level(node)
        let exact = UnsafePointer(vector(node))
        let walk = walkQuery(exact, scratch: scratch)
        var current = entry
        var currentDistance = walkDistance(walk, current)
        if top > nodeLevel {
            for level in stride(from: top, to: nodeLevel, by: -1) {
                (current, currentDistance) = lockedGreedyStep(
                    walk, from: current, distance: currentDistance, level: level)
            }
        }
        for level in stride(from: min(nodeLevel, top), through: 0, by: -1) {
            var candidates = searchForInsert(
                walk, entry: current, entryDistance: currentDistance, level: level,
                scratch: scratch, excluding: node)
            guard !candidates.isEmpty else { continue }
            for i in candidates.indices { candidates[i].distance = exactDistance(exact, candidates[i].node) }
            candidates.sort { $0.distance < $1.distance }
            current = connect(node, to: candidates, level: level)
            currentDistance = walkDistance(walk, current)
        }
    }

    /// Re-links a node whose vector changed, or a reused slot (after hnswlib's updatePoint):
    /// first each old neighbour re-chooses its links among the node's 2-hop neighbourhood (links
    /// it drops are kept while there is room, so no node loses its way in), then the node is
    /// searched for and connected again as if new, keeping its old level-0 links in the room the
    /// new ones leave, so nodes that were reached through it still are.
    private func reconnect(_ node: UInt32, scratch: SearchScratch) throws {
        let nodeLevel = level(node)
        for level in 0...nodeLevel {
            let neighbours = copyLinks(node, level)
            var pool = Set(neighbours)
            for n in neighbours { pool.formUnion(copyLinks(n, level)) }
            pool.remove(node)
            for n in neighbours where n != node && !isDeleted(n) {
                let candidates = pool.filter { $0 != n }.map {
                    Candidate(distance: exactDistance(vector(n), $0), node: $0)
                }
                .sorted { $0.distance < $1.distance }
                var chosen = selectNeighbours(Array(candidates.prefix(parameters.efConstruction)), max: maxLinks(level))
                    .map(\.node)
                for old in copyLinks(n, level) where chosen.count < maxLinks(level) && !chosen.contains(old) {
                    chosen.append(old)
                }
                writeLinks(n, level, chosen)
            }
        }
        let (entry, top) = currentTop()
        guard entry != Self.noNode, entry != node || top > 0 else { return }
        let old = copyLinks(node, 0)
        try descendAndConnect(node, from: entry, top: top, scratch: scratch)
        linkLocks.withLock(node) {
            let list = record(node).assumingMemoryBound(to: UInt32.self)
            var count = Int(min(list[0], UInt32(layout.m0)))
            for link in old where count < layout.m0 && link != node {
                if !(1...max(count, 1)).contains(where: { $0 <= count && list[$0] == link }) {
                    count += 1
                    list[count] = link
                }
            }
            list[0] = UInt32(count)
        }
    }

    /// Gives every live node that a level-0 walk from the entry point cannot reach an in-link
    /// from its nearest reachable node. Pruning during inserts can, rarely, drop a node's last
    /// in-link (in hnswlib too); a checkpoint runs this so no file holds an unreachable row.
    /// Returns how many nodes were re-linked.
    @discardableResult
    func repairReachability(scratch: SearchScratch) -> Int {
        var repaired = 0
        for _ in 0..<3 {
            guard entryPoint != Self.noNode else { return repaired }
            let reached = reachableFromEntry()
            let lost = (0..<UInt32(nodeCount)).filter { !reached[Int($0)] && !isDeleted($0) }
            if lost.isEmpty { return repaired }
            for node in lost {
                let exact = UnsafePointer(vector(node))
                let walk = walkQuery(exact, scratch: scratch)
                var candidates = searchForInsert(
                    walk, entry: entryPoint, entryDistance: walkDistance(walk, entryPoint),
                    level: 0, scratch: scratch, excluding: node)
                candidates = candidates.filter { reached[Int($0.node)] }
                for i in candidates.indices { candidates[i].distance = exactDistance(exact, candidates[i].node) }
                candidates.sort { $0.distance < $1.distance }
                // The nearest reachable node with room takes the link; failing that, the nearest
                // gives up its farthest link.
                let host = candidates.first { Int(links($0.node, 0)[0]) < layout.m0 } ?? candidates.first
                guard let host else { continue }
                linkLocks.withLock(host.node) {
                    let list = record(host.node).assumingMemoryBound(to: UInt32.self)
                    let count = Int(min(list[0], UInt32(layout.m0)))
                    if count < layout.m0 {
                        list[1 + count] = node
                        list[0] = UInt32(count + 1)
                    } else {
                        let base = UnsafePointer(vector(host.node))
                        let farthest = (1...count).max {
                            exactDistance(base, list[$0]) < exactDistance(base, list[$1])
                        }!
                        list[farthest] = node
                    }
                }
                repaired += 1
            }
        }
        return repaired
    }

    private func currentTop() -> (entry: UInt32, level: Int) {
        allocationLock.lock()
        defer { allocationLock.unlock() }
        return (entryPoint, topLevel)
    }

    private func setTop(_ node: UInt32, _ level: Int) {
        allocationLock.lock()
        defer { allocationLock.unlock() }
        if entryPoint == Self.noNode || level > topLevel {
            entryPoint = node
            topLevel = level
        }
    }

    func copyLinks(_ node: UInt32, _ level: Int) -> [UInt32] {
        linkLocks.withLock(node) {
            let list = links(node, level)
            let count = Int(min(list[0], UInt32(maxLinks(level))))
            return (0..<count).compactMap { i in list[1 + i] < UInt32(nodeCount) ? list[1 + i] : nil }
        }
    }

    private func writeLinks(_ node: UInt32, _ level: Int, _ ids: [UInt32]) {
        linkLocks.withLock(node) {
            guard let list = linksIfPresent(node, level) else { return }
            let count = min(ids.count, maxLinks(level))
            for i in 0..<count { list[1 + i] = ids[i] }
            list[0] = UInt32(count)
        }
    }

    private func lockedGreedyStep(
        _ query: WalkQuery, from start: UInt32, distance startDistance: Float,
        level: Int
    ) -> (UInt32, Float) {
        var current = start
        var best = startDistance
        var changed = true
        while changed {
            changed = false
            for candidate in copyLinks(current, level) where !isLinking(candidate) {
                let d = walkDistance(query, candidate)
                if d < best {
                    best = d
                    current = candidate
                    changed = true
                }
            }
        }
        return (current, best)
    }

    /// ef_construction nearest nodes on `level` by walk distance, reading links under their locks.
    func searchForInsert(
        _ query: WalkQuery, entry: UInt32, entryDistance: Float, level: Int,
        scratch: SearchScratch, excluding node: UInt32
    ) -> [Candidate] {
        let ef = parameters.efConstruction
        let visited = scratch.visited
        visited.reset(capacity: nodeCount)
        scratch.frontier.removeAll()
        scratch.results.removeAll()
        _ = visited.insert(entry)
        _ = visited.insert(node)
        scratch.frontier.push(Candidate(distance: entryDistance, node: entry))
        if entry != node { scratch.results.push(Candidate(distance: entryDistance, node: entry)) }
        var bound = scratch.results.isEmpty ? Float.infinity : entryDistance
        var neighbours = scratch.neighbours
        while !scratch.frontier.isEmpty {
            let nearest = scratch.frontier.top
            if nearest.distance > bound, scratch.results.count >= ef { break }
            scratch.frontier.pop()
            neighbours.removeAll(keepingCapacity: true)
            linkLocks.withLock(nearest.node) {
                let list = links(nearest.node, level)
                let count = Int(min(list[0], UInt32(maxLinks(level))))
                for i in 0..<count { neighbours.append(list[1 + i]) }
            }
            for candidate in neighbours
            where Int(candidate) < nodeCount && visited.insert(candidate) && !isLinking(candidate) {
                let d = walkDistance(query, candidate)
                guard scratch.results.count < ef || d < bound else { continue }
                scratch.frontier.push(Candidate(distance: d, node: candidate))
                scratch.results.push(Candidate(distance: d, node: candidate))
                if scratch.results.count > ef { scratch.results.pop() }
                bound = scratch.results.top.distance
            }
        }
        scratch.neighbours = neighbours
        return scratch.results.drainAscending()
    }

    /// hnswlib's heuristic: keep a candidate only if it is closer to the base than to every
    /// neighbour already kept, which spreads links in different directions.
    func selectNeighbours(_ candidates: [Candidate], max: Int) -> [Candidate] {
        guard candidates.count > max else { return candidates }
        var kept: [Candidate] = []
        kept.reserveCapacity(max)
        for candidate in candidates {
            if kept.count >= max { break }
            let v = UnsafePointer(vector(candidate.node))
            if kept.allSatisfy({ exactDistance(v, $0.node) >= candidate.distance }) { kept.append(candidate) }
        }
        return kept
    }

    /// Sets the node's links on `level` and adds the node to each chosen neighbour's list,
    /// shrinking a full list with the same heuristic. Returns the nearest chosen neighbour.
    private func connect(_ node: UInt32, to candidates: [Candidate], level: Int) -> UInt32 {
        let chosen = selectNeighbours(candidates, max: layout.m)
        writeLinks(node, level, chosen.map(\.node))
        let limit = maxLinks(level)
        var linkedBack = false
        for neighbour in chosen.map(\.node) {
            linkLocks.withLock(neighbour) {
                guard let list = linksIfPresent(neighbour, level) else { return }
                let count = Int(min(list[0], UInt32(limit)))
                for i in 0..<count where list[1 + i] == node {
                    linkedBack = true
                    return
                }
                if count < limit {
                    list[1 + count] = node
                    list[0] = UInt32(count + 1)
                    linkedBack = true
                    return
                }
                let base = UnsafePointer(vector(neighbour))
                var pool = (0..<count).map {
                    Candidate(distance: exactDistance(base, list[1 + $0]), node: list[1 + $0])
                }
                pool.append(Candidate(distance: exactDistance(base, node), node: node))
                pool.sort { $0.distance < $1.distance }
                let kept = selectNeighbours(pool, max: limit)
                for (i, c) in kept.enumerated() { list[1 + i] = c.node }
                list[0] = UInt32(kept.count)
                if kept.contains(where: { $0.node == node }) { linkedBack = true }
            }
        }
        // Every neighbour's heuristic may have preferred its old links; then the nearest one
        // gives up its farthest link, so that the node can be reached at all.
        if !linkedBack, let nearest = chosen.first?.node {
            linkLocks.withLock(nearest) {
                guard let list = linksIfPresent(nearest, level) else { return }
                let count = Int(min(list[0], UInt32(limit)))
                guard count > 0 else {
                    list[1] = node
                    list[0] = 1
                    return
                }
                let base = UnsafePointer(vector(nearest))
                let farthest = (1...count).max { exactDistance(base, list[$0]) < exactDistance(base, list[$1]) }!
                list[farthest] = node
            }
        }
        return chosen.first?.node ?? candidates[0].node
    }
}
