import QuiverStorage

/// What a kind of index gives `IndexLifecycle`, which keeps every kind in step with the rows in
/// the same way: the change log, catch-up, checkpoints, leftover files and the crash rules of
/// invariant 7 (ARCHITECTURE.md). A kind says how to check a definition, build an index from the
/// rows and open its file; its open indexes say what they keep of a row, how they take changes
/// and how they write a checkpoint.
package protocol IndexKind {
    associatedtype Index: MaintainedIndex

    /// The suffix of this kind's files in the index directory (`hnsw`): a kind's lifecycle
    /// manages the index records whose file has it, and removes leftovers with it.
    static var fileExtension: String { get }

    /// Refuses a definition this kind cannot build on `table` (a column of the wrong type, bad
    /// parameters) before anything is written.
    func validate(_ definition: IndexDefinition, on table: TableInfo) throws

    /// Builds a new file at `path` holding the change log up to `sequence`, from `rows`:
    /// `SELECT <rowid>, <column> FROM <table> WHERE <column> IS NOT NULL`, which it steps.
    func build(
        _ definition: IndexDefinition, on table: TableInfo, rows: Statement, path: String, sequence: Int64,
        threads: Int
    ) throws -> Index

    /// Opens an existing file and checks it: a damaged file is an error, never made-up entries.
    func open(path: String) throws -> Index
}

/// An open index of some kind: the state its checkpoint file holds plus the changes applied
/// since, up to `appliedSequence` of the change log. Shared by every connection of the process
/// (IndexRegistry), so it guards itself.
package protocol MaintainedIndex: AnyObject {
    /// What the index keeps of one row (a vector, for HNSW).
    associatedtype Entry

    var path: String { get }
    /// The last change-log entry applied.
    var appliedSequence: Int64 { get }
    /// The last change-log entry its file holds.
    var checkpointSequence: Int64 { get }
    /// Rows it holds (a checkpoint is due once a tenth of them has changed, at the least).
    var count: Int { get }

    /// A changed row's entry, read from `SELECT <rowid>, <column>`; nil when the row leaves the
    /// index (its value is NULL or not one this kind indexes).
    func entry(from row: Statement) -> Entry?

    /// Applies changed rows from the log, each row once — an entry inserts or replaces, nil
    /// deletes — and then holds the log up to `sequence`.
    func apply(changes: [(label: Int64, entry: Entry?)], through sequence: Int64, threads: Int) throws

    /// Writes what it holds as its file (whole, to a temporary name, synced, renamed), so that
    /// `checkpointSequence` becomes `appliedSequence`. Failures are `IndexFileWriteError`s.
    func checkpoint() throws
}
