import QuiverKernels

/// The shape of an HNSW graph, fixed when the index is built.
public struct HNSWParameters: Sendable, Equatable {
    public var dimension: Int
    public var metric: DistanceMetric
    /// Links per node on the upper levels; level 0 keeps twice as many (as hnswlib does).
    public var m: Int
    public var efConstruction: Int

    public static let defaultM = 16
    public static let defaultEfConstruction = 64

    public init(dimension: Int, metric: DistanceMetric, m: Int = defaultM, efConstruction: Int = defaultEfConstruction) {
        self.dimension = dimension
        self.metric = metric
        self.m = m
        self.efConstruction = efConstruction
    }

    public var maxLinksLevel0: Int { 2 * m }

    /// mL = 1/ln(M): the expected share of nodes on level l+1 is 1/M of those on level l.
    var levelMultiplier: Double { 1 / log(Double(max(m, 2))) }

    public struct Invalid: Error, CustomStringConvertible { public var description: String }

    public func validate() throws {
        guard (2...100).contains(m) else { throw Invalid(description: "m must be between 2 and 100; got \(m)") }
        guard (4...2000).contains(efConstruction), efConstruction >= m else {
            throw Invalid(description: "ef_construction must be between m (\(m)) and 2000; got \(efConstruction)")
        }
        guard (1...16_000).contains(dimension) else { throw Invalid(description: "dimension \(dimension) out of range") }
    }
}

import Foundation
