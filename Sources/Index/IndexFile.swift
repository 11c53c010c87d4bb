import Foundation
import QuiverKernels

#if canImport(Glibc)
    import Glibc
#endif

/// Reading and writing index files (layout in IndexFileHeader).
///
/// A file is only ever written whole, to a temporary name, synced, then renamed over the old
/// one: at every moment the path holds either the previous checkpoint or the new one, never a
/// mixture. Opening maps the regions copy-on-write and checks each against its checksum in
/// the header, so a damaged file is refused before any search trusts a label or a link.
enum IndexFile {

    struct OpenError: Error, CustomStringConvertible {
        var path: String
        var problem: String
        var description: String { "index file \(path): \(problem)" }
    }

    static func empty(_ parameters: HNSWParameters, quantizer: Quantizer) throws -> HNSWGraph {
        HNSWGraph(
            parameters: parameters, quantizer: quantizer,
            nodes: try MappedRegion(reserve: MappedRegion.reservation(for: 0)),
            vectors: try MappedRegion(reserve: MappedRegion.reservation(for: 0)),
            upper: try MappedRegion(reserve: MappedRegion.reservation(for: 0)), labels: LabelMap(table: nil, count: 0),
            state: HNSWGraph.State(), seed: 0x5157_4956_4552)
    }

    /// Maps an index file. Throws a clear error for a short, foreign, newer or damaged file.
    static func open(path: String) throws -> (HNSWGraph, appliedSequence: Int64) {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw OpenError(path: path, problem: String(cString: strerror(errno))) }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0 else { throw OpenError(path: path, problem: String(cString: strerror(errno))) }
        let length = Int(status.st_size)
        var page = [UInt8](repeating: 0, count: IndexFileHeader.size)
        let read = page.withUnsafeMutableBytes { pread(fd, $0.baseAddress, IndexFileHeader.size, 0) }
        let header: IndexFileHeader
        do {
            header = try page.withUnsafeBytes { (bytes) throws(IndexFileHeader.Problem) in
                try IndexFileHeader(
                    decoding: UnsafeRawBufferPointer(rebasing: bytes[0..<max(0, read)]), actualFileLength: length)
            }
        } catch {
            throw OpenError(path: path, problem: "\(error); rebuild it with REINDEX")
        }
        let parameters = HNSWParameters(
            dimension: header.dimension, metric: header.metric, m: header.m,
            efConstruction: header.efConstruction)
        let nodeBytes = header.nodeCount * header.stride
        let vectorBytes = header.nodeCount * header.dimension * 4
        let nodes: MappedRegion
        let vectors: MappedRegion
        let upper: MappedRegion
        let labelRegion: MappedRegion
        do {
            nodes = try MappedRegion(
                reserve: MappedRegion.reservation(for: nodeBytes), file: fd, offset: header.nodesOffset,
                length: nodeBytes)
            vectors = try MappedRegion(
                reserve: MappedRegion.reservation(for: vectorBytes), file: fd, offset: header.vectorsOffset,
                length: vectorBytes)
            upper = try MappedRegion(
                reserve: MappedRegion.reservation(for: header.upperWords * 4), file: fd, offset: header.upperOffset,
                length: header.upperWords * 4)
            labelRegion = try MappedRegion(
                reserve: header.labelCount * LabelMap.entrySize, file: fd,
                offset: header.labelsOffset, length: header.labelCount * LabelMap.entrySize)
        } catch {
            throw OpenError(path: path, problem: "\(error)")
        }
        var free = [UInt32](repeating: 0, count: header.freeCount)
        if header.freeCount > 0 {
            let n = free.withUnsafeMutableBytes {
                pread(fd, $0.baseAddress, header.freeCount * 4, off_t(header.freeOffset))
            }
            guard n == header.freeCount * 4 else { throw OpenError(path: path, problem: "cannot read the free list") }
        }
        var ranges = [Float](repeating: 0, count: 2 * header.dimension)
        let n = ranges.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(header.quantizerOffset)) }
        guard n == header.dimension * 8 else { throw OpenError(path: path, problem: "cannot read the quantiser") }
        let damaged = free.withUnsafeBytes { freeBytes in
            ranges.withUnsafeBytes { rangeBytes in
                header.regionChecksums.firstDamagedRegion([
                    UnsafeRawBufferPointer(start: nodes.base, count: nodeBytes),
                    UnsafeRawBufferPointer(start: vectors.base, count: vectorBytes),
                    UnsafeRawBufferPointer(start: upper.base, count: header.upperWords * 4),
                    UnsafeRawBufferPointer(start: labelRegion.base, count: header.labelCount * LabelMap.entrySize),
                    freeBytes, rangeBytes,
                ])
            }
        }
        if let damaged {
            throw OpenError(
                path: path, problem: "the \(damaged) region is damaged (checksum mismatch); rebuild it with REINDEX")
        }
        let quantizer = Quantizer(
            minimum: Array(ranges[0..<header.dimension]), step: Array(ranges[header.dimension...]))
        let labels = LabelMap(table: UnsafeRawPointer(labelRegion.base), count: header.labelCount, owner: labelRegion)
        let state = HNSWGraph.State(
            nodeCount: header.nodeCount, liveCount: header.liveCount, entryPoint: header.entryPoint,
            topLevel: header.topLevel, upperWords: header.upperWords, freeSlots: free)
        let graph = HNSWGraph(
            parameters: parameters, quantizer: quantizer, nodes: nodes, vectors: vectors, upper: upper,
            labels: labels, state: state,
            seed: UInt64(bitPattern: header.appliedSequence) &+ UInt64(header.nodeCount))
        return (graph, header.appliedSequence)
    }

    /// Writes the graph as a new checkpoint at `path` (atomically, synced).
    static func write(_ graph: HNSWGraph, appliedSequence: Int64, to path: String) throws {
        graph.allocationLock.lock()
        let nodeCount = graph.nodeCount
        let upperWords = graph.upperWords
        let free = graph.freeSlots
        let entry = graph.entryPoint
        let top = graph.topLevel
        let live = graph.liveCount
        graph.allocationLock.unlock()

        var labels: [(Int64, UInt32)] = []
        labels.reserveCapacity(live)
        for node in 0..<UInt32(nodeCount) where !graph.isDeleted(node) { labels.append((graph.label(node), node)) }
        labels.sort { $0.0 < $1.0 }

        var header = IndexFileHeader(parameters: graph.parameters, layout: graph.layout)
        let page = MappedRegion.pageSize
        func padded(_ n: Int) -> Int { (n + page - 1) / page * page }
        header.nodeCount = nodeCount
        header.liveCount = live
        header.entryPoint = entry
        header.topLevel = top
        header.upperWords = upperWords
        header.labelCount = labels.count
        header.freeCount = free.count
        header.appliedSequence = appliedSequence
        header.nodesOffset = IndexFileHeader.size
        header.vectorsOffset = header.nodesOffset + padded(nodeCount * graph.layout.stride)
        header.upperOffset = header.vectorsOffset + padded(nodeCount * graph.layout.vectorBytes)
        header.labelsOffset = header.upperOffset + padded(upperWords * 4)
        header.freeOffset = header.labelsOffset + padded(labels.count * LabelMap.entrySize)
        header.quantizerOffset = header.freeOffset + padded(free.count * 4)
        header.fileLength = header.quantizerOffset + padded(graph.dimension * 8)

        var table = [UInt8](repeating: 0, count: labels.count * LabelMap.entrySize)
        table.withUnsafeMutableBytes { raw in
            for (i, (label, node)) in labels.enumerated() {
                raw.storeBytes(of: label, toByteOffset: i * 16, as: Int64.self)
                raw.storeBytes(of: node, toByteOffset: i * 16 + 8, as: UInt32.self)
            }
        }
        let ranges = graph.quantizer.minimum + graph.quantizer.step
        header.regionChecksums = table.withUnsafeBytes { tableBytes in
            free.withUnsafeBytes { freeBytes in
                ranges.withUnsafeBytes { rangeBytes in
                    IndexFileChecksums.of([
                        UnsafeRawBufferPointer(start: graph.nodes.base, count: nodeCount * graph.layout.stride),
                        UnsafeRawBufferPointer(start: graph.vectors.base, count: nodeCount * graph.layout.vectorBytes),
                        UnsafeRawBufferPointer(start: graph.upper.base, count: upperWords * 4),
                        tableBytes, freeBytes, rangeBytes,
                    ])
                }
            }
        }

        // Every byte goes through the IndexFileIO table, so tests can make any step fail.
        let io = IndexFileIO.current
        let temporary = path + ".tmp"
        let fd = io.open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw IndexFileWriteError(path: path, step: "creating \(temporary)", code: errno) }
        var failure: IndexFileWriteError?
        func put(_ pointer: UnsafeRawPointer, _ count: Int, at offset: Int) {
            var done = 0
            while done < count, failure == nil {
                let n = io.write(fd, pointer + done, count - done, off_t(offset + done), temporary)
                if n < 0 || n == 0 && count > done {
                    // A write that makes no progress without an errno is a full disk in all but name.
                    let code = n < 0 ? errno : ENOSPC
                    failure = IndexFileWriteError(
                        path: path, step: "writing \(count - done) bytes at offset \(offset + done) of \(temporary)",
                        code: code)
                    return
                }
                done += n
            }
        }
        let headerBytes = header.encoded()
        headerBytes.withUnsafeBytes { put($0.baseAddress!, $0.count, at: 0) }
        put(graph.nodes.base, nodeCount * graph.layout.stride, at: header.nodesOffset)
        put(graph.vectors.base, nodeCount * graph.layout.vectorBytes, at: header.vectorsOffset)
        put(graph.upper.base, upperWords * 4, at: header.upperOffset)
        table.withUnsafeBytes { if $0.count > 0 { put($0.baseAddress!, $0.count, at: header.labelsOffset) } }
        free.withUnsafeBytes { if $0.count > 0 { put($0.baseAddress!, $0.count, at: header.freeOffset) } }
        ranges.withUnsafeBytes { put($0.baseAddress!, $0.count, at: header.quantizerOffset) }
        if failure == nil, io.truncate(fd, off_t(header.fileLength), temporary) != 0 {
            failure = IndexFileWriteError(
                path: path, step: "extending \(temporary) to \(header.fileLength) bytes", code: errno)
        }
        if failure == nil, io.sync(fd, temporary) != 0 {
            failure = IndexFileWriteError(path: path, step: "syncing \(temporary)", code: errno)
        }
        close(fd)
        if let failure {
            unlink(temporary)
            throw failure
        }
        guard io.rename(temporary, path) == 0 else {
            let failure = IndexFileWriteError(path: path, step: "renaming \(temporary) over it", code: errno)
            unlink(temporary)
            throw failure
        }
        syncDirectory(of: path)
    }

    private static func syncDirectory(of path: String) {
        let directory = (path as NSString).deletingLastPathComponent
        let fd = Glibc.open(directory.isEmpty ? "." : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 {
            fsync(fd)
            close(fd)
        }
    }
}
