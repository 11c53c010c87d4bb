import Dispatch

/// What running one statement did, as data: the strategy it took, why, what it counted, and
/// its steps, each timed on the trace's one clock. Recorded while the query runs, so it holds
/// numbers and cases, never text; `Explain` alone turns it into words.
public struct ExecutionTrace: Sendable, Equatable {
    /// How the k nearest rows were found.
    public enum Strategy: Sendable, Equatable {
        /// Not a nearest-neighbour query: SQLite ran it as rewritten.
        case sqlite
        case exactScan
        /// The index answered an unfiltered query directly.
        case hnsw
        /// A walk restricted to the filter's allow-set, or its two-hop variant (selective filters).
        case filteredGraph
        case filteredGraphTwoHop
        /// The filter's rows scored exactly from the index's float32 copies.
        case exactAllowSet
        /// A walk of the whole graph, keeping the candidates the filter passes.
        case postFilter
    }

    /// What the strategy was chosen on.
    public enum Decision: Sendable, Equatable {
        /// Nothing to choose: no plan, or no index was asked.
        case none
        /// No index for this column and operator, or uncommitted writes in this transaction.
        case noUsableIndex
        case noFilter
        /// The filter was seen before on unchanged data: its allow-set is kept.
        case filterSeenBefore
        /// A selective filter runs first on a budget of SQLite steps (nil: only planned, by
        /// EXPLAIN, so no budget was set).
        case filterFirst(stepBudget: Int?)
        /// A permissive filter: the graph is walked first for this many candidates (nil: only
        /// planned).
        case walkFirst(candidates: Int?)
    }

    /// How the filter's selectivity was estimated.
    public enum Estimation: Sendable, Equatable {
        case emptyIndex
        /// The filter run over every row (the table is no larger than the sample).
        case counted(passed: Int, rows: Int)
        /// The filter run over rows drawn at random.
        case sampled(passed: Int, rows: Int)
    }

    /// One step of a search, with what it counted.
    public enum Step: Sendable, Equatable {
        /// Evaluating the query vector and LIMIT, finding the index and catching it up.
        case prepare
        case indexSearch
        case estimateSelectivity
        /// The filter run in full; `kept` when its allow-set is remembered for the next query.
        case filter(passed: Int, kept: Bool)
        /// The filter stopped when its budget of SQLite steps ran out.
        case filterStopped(stepBudget: Int)
        case exactOverAllowSet(rows: Int)
        case indexSearchOverAllowSet
        case walkAndCheck(candidates: Int, passed: Int)
        case exactScan
        /// The statement itself, run over the rows found.
        case finalSelect
    }

    public struct TimedStep: Sendable, Equatable {
        public var step: Step
        public var nanoseconds: UInt64
    }

    public var strategy = Strategy.sqlite
    public var decision = Decision.none
    /// Rows the filter passed and whose vectors were scored (exact scan), or allowed (allow-set).
    public var rowsScanned = 0
    public var candidates = 0
    public var efSearch = 0
    public var distanceComputations = 0
    /// The share of the table's rows the filter is expected to pass, and how that was estimated.
    public var estimatedSelectivity: Double?
    public var estimation: Estimation?
    /// The share that actually passed, when the strategy found out.
    public var actualSelectivity: Double?
    /// The steps in order, each with the time since the previous one ended (or the trace began).
    public private(set) var steps: [TimedStep] = []
    /// The clock's readings when the trace began and when it last recorded (a step or the end).
    public private(set) var beganAt: UInt64 = 0
    public private(set) var lastReading: UInt64 = 0

    public init() {}

    /// The clock every time of a trace is read from.
    static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    /// Starts timing the next steps from now; the trace's total counts from its first `begin()`
    /// (a statement's nested nearest-neighbour blocks each begin anew).
    mutating func begin() {
        lastReading = Self.now()
        if beganAt == 0 { beganAt = lastReading }
    }

    /// Records that `step` has just ended.
    mutating func record(_ step: Step) {
        let now = Self.now()
        steps.append(TimedStep(step: step, nanoseconds: now - lastReading))
        lastReading = now
    }

    /// Marks the end of the traced work, for its total time.
    mutating func end() { lastReading = Self.now() }

    /// From `begin()` to the last step or `end()`.
    public var totalNanoseconds: UInt64 { lastReading - beganAt }
}
