import Foundation
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

    /// The limits of every way to ask for an index or a search (CREATE INDEX, SET hnsw.ef_search,
    /// the server's requests and its OpenAPI document): they are checked here and nowhere else.
    public static let mRange = 2...100
    /// ef_construction must also be at least m: a smaller candidate list cannot fill a node's links.
    public static let efConstructionRange = 4...2_000
    public static let efSearchRange = 1...10_000
    public static let dimensionRange = 1...16_000

    public init(dimension: Int, metric: DistanceMetric, m: Int = defaultM, efConstruction: Int = defaultEfConstruction)
    {
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
        guard Self.mRange.contains(m) else {
            throw Invalid(
                description: "m must be between \(Self.mRange.lowerBound) and \(Self.mRange.upperBound); got \(m)")
        }
        guard Self.efConstructionRange.contains(efConstruction), efConstruction >= m else {
            throw Invalid(
                description:
                    "ef_construction must be between m (\(m)) and \(Self.efConstructionRange.upperBound); got \(efConstruction)"
            )
        }
        guard Self.dimensionRange.contains(dimension) else {
            throw Invalid(description: "dimension \(dimension) out of range")
        }
    }
}
