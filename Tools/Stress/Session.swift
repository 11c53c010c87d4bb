import Foundation
import QuiverClient
import QuiverJSON

/// One thread's connection to the server (TCP or the Unix socket): every request is announced
/// to the watchdog before it is sent, bounded by the client's timeout, and tallied by kind once
/// answered.
final class Session {
    let who: String
    let transport: String
    private let client: QuiverClient
    private let ledger: Ledger

    /// A connection over the Unix socket when `unix` and the server has one, else over TCP.
    init(who: String, unix: Bool, ledger: Ledger, token: String?, timeout: TimeInterval) {
        let endpoints = ledger.currentEndpoints
        if unix, let path = endpoints.socketPath {
            client = QuiverClient(endpoint: .unix(path: path), token: token, timeout: timeout)
            transport = "unix"
        } else if let port = endpoints.tcpPort {
            client = QuiverClient(endpoint: .tcp(host: endpoints.tcpHost, port: port), token: token, timeout: timeout)
            transport = "tcp"
        } else {
            client = QuiverClient(endpoint: .unix(path: endpoints.socketPath ?? ""), token: token, timeout: timeout)
            transport = "unix"
        }
        self.who = who
        self.ledger = ledger
    }

    /// `POST /sql`; `kind` names it in the tallies ("sql read", "sql write").
    @discardableResult
    func sql(_ kind: String, _ what: String, _ text: String, _ parameters: [JSONValue] = []) throws -> [QuiverClient
        .ResultSet]
    {
        try tracked(kind, what) { try client.sql(text, parameters: parameters) }
    }

    /// Any endpoint with a JSON body.
    @discardableResult
    func call(_ kind: String, _ what: String, _ method: String, _ path: String, _ body: JSONValue? = nil) throws
        -> JSONValue
    {
        try tracked(kind, what) { try client.call(method, path, body) }
    }

    func close() { client.close() }

    private func tracked<T>(_ kind: String, _ what: String, _ body: () throws -> T) throws -> T {
        ledger.doing(who, "\(what) over \(transport)")
        defer { ledger.idle(who) }
        let result = try body()
        ledger.count("requests: \(kind)")
        ledger.count("requests over \(transport)")
        return result
    }
}

extension QuiverClient.ResultSet {
    /// The integer in row `row`, column `column` (nil when absent or not an integer).
    func integer(_ row: Int = 0, _ column: Int = 0) -> Int64? {
        rows.indices.contains(row) && rows[row].indices.contains(column) ? rows[row][column].integerValue : nil
    }
}
