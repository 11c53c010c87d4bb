import QuiverKernels

/// What the database must hold after every acknowledged write: the writer's ledger of
/// balances and transfers, and the batches of rows that are live, with their versions.
struct Model: Equatable {
    static let accounts = 20
    static let startingBalance: Int64 = 1_000
    static var total: Int64 { Int64(accounts) * startingBalance }
    static let dimension = 16

    struct Batch: Equatable {
        /// Rows in the batch (ids `batch * 16 + 0 ..< n`).
        var n: Int
        /// Bumped by each update, which gives every row of the batch a new vector.
        var version: Int
        /// Written by a SQL script (with a row in the batches table) rather than a row upsert.
        var viaSQL: Bool
    }

    var balances = [Int64](repeating: Model.startingBalance, count: Model.accounts)
    /// Transfers committed; the next one is numbered `transfers + 1`.
    var transfers: Int64 = 0
    var batches: [Int64: Batch] = [:]
    /// Batches whose delete was acknowledged, in that order.
    var deleted: [Int64] = []
    /// The highest batch number created (acknowledged); never deleted (victims are older).
    var newest: Int64 = 0

    static func id(batch: Int64, row: Int) -> Int64 { batch * 16 + Int64(row) }

    /// The vector of a row at a version: the same on every call, so a reader or the verifier can
    /// search for it without asking the writer.
    static func vector(batch: Int64, row: Int, version: Int) -> [Float] {
        var random = SplitMix64(
            seed: UInt64(bitPattern: batch) &* 1_000_003 &+ UInt64(row) &* 7_919 &+ UInt64(version) &* 104_729)
        return (0..<dimension).map { _ in Float(random.unit() * 2 - 1) }
    }
}

/// One write of the writer: what it sends, and what the model becomes once it is acknowledged.
enum Operation {
    struct Transfer { var seq: Int64, source: Int, target: Int, amount: Int64 }

    /// A transfer and a new batch of rows in one SQL script (inside `SAVEPOINT … RELEASE` when
    /// `explicit`: the server refuses BEGIN and COMMIT, a request being one transaction).
    case scriptBatch(Transfer, batch: Int64, n: Int, explicit: Bool)
    /// A transfer alone, as a SQL script.
    case transfer(Transfer, explicit: Bool)
    /// A new batch through `POST /tables/{t}/rows`.
    case upsertBatch(batch: Int64, n: Int)
    /// New vectors (and version) for every row of a batch, through a partial upsert.
    case update(batch: Int64, n: Int, version: Int)
    /// A batch deleted: `POST …/rows/delete`, or a SQL script that also drops its count row.
    case delete(batch: Int64, n: Int, viaSQL: Bool)

    /// The batch whose rows this changes, if any already exist.
    var touchedBatch: Int64? {
        switch self {
        case .update(let batch, _, _), .delete(let batch, _, _): batch
        default: nil
        }
    }

    func applied(to model: Model) -> Model {
        var model = model
        func move(_ t: Transfer) {
            model.balances[t.source - 1] -= t.amount
            model.balances[t.target - 1] += t.amount
            model.transfers = t.seq
        }
        switch self {
        case .scriptBatch(let t, let batch, let n, _):
            move(t)
            model.batches[batch] = .init(n: n, version: 0, viaSQL: true)
            model.newest = max(model.newest, batch)
        case .transfer(let t, _):
            move(t)
        case .upsertBatch(let batch, let n):
            model.batches[batch] = .init(n: n, version: 0, viaSQL: false)
            model.newest = max(model.newest, batch)
        case .update(let batch, _, let version):
            model.batches[batch]?.version = version
        case .delete(let batch, _, _):
            model.batches[batch] = nil
            model.deleted.append(batch)
        }
        return model
    }
}

/// The tables the run writes (replaced at the start).
enum Schema {
    static let accounts = "stress_accounts", transfers = "stress_transfers", items = "stress_items",
        batches = "stress_batches"

    static let drop = [accounts, transfers, items, batches].map { "DROP TABLE IF EXISTS \($0)" }.joined(separator: "; ")

    static let create = """
        CREATE TABLE \(accounts) (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL);
        CREATE TABLE \(transfers) (seq INTEGER PRIMARY KEY, source INTEGER NOT NULL, target INTEGER NOT NULL, amount INTEGER NOT NULL);
        CREATE TABLE \(items) (id INTEGER PRIMARY KEY, batch INTEGER NOT NULL, n INTEGER NOT NULL, version INTEGER NOT NULL,
                               via_sql INTEGER NOT NULL, emb VECTOR(\(Model.dimension)));
        CREATE INDEX \(items)_batch ON \(items) (batch);
        CREATE TABLE \(batches) (batch INTEGER PRIMARY KEY, n INTEGER NOT NULL);
        """ + (1...Model.accounts).map { "INSERT INTO \(accounts) VALUES (\($0), \(Model.startingBalance));" }.joined()

    static let createIndex =
        "CREATE INDEX \(items)_emb ON \(items) USING hnsw (emb vector_l2_ops) WITH (m = 12, ef_construction = 48)"
}

extension SplitMix64 {
    /// A number in [0, 1).
    mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}
