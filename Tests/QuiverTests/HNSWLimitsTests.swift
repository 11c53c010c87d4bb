import Foundation
import QuiverClient
import QuiverIndex
import QuiverJSON
import Testing

/// The HNSW limits have one owner, HNSWParameters: the OpenAPI document must promise what the
/// server and the engine check.
@Suite struct HNSWLimitsTests {
    /// Every bounded `m`, `ef_construction`, `ef` and `ef_search` property of the document's schemas.
    static func documentedBounds() throws -> [(path: String, name: String, minimum: Int, maximum: Int?)] {
        let data = try #require(FileManager.default.contents(atPath: OpenAPIContract.documentPath))
        let document = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let schemas = try #require((document["components"] as? [String: Any])?["schemas"] as? [String: Any])
        var found: [(String, String, Int, Int?)] = []
        for (schemaName, schema) in schemas {
            let properties = (schema as? [String: Any])?["properties"] as? [String: Any] ?? [:]
            for name in ["m", "ef_construction", "ef", "ef_search"] {
                guard let property = properties[name] as? [String: Any], let minimum = property["minimum"] as? Int
                else { continue }
                found.append((schemaName, name, minimum, property["maximum"] as? Int))
            }
        }
        return found
    }

    static func range(of name: String) -> ClosedRange<Int> {
        switch name {
        case "m": HNSWParameters.mRange
        case "ef_construction": HNSWParameters.efConstructionRange
        default: HNSWParameters.efSearchRange
        }
    }

    @Test func theOpenAPIDocumentStatesHNSWParametersLimits() throws {
        let bounds = try Self.documentedBounds()
        for name in ["m", "ef_construction", "ef"] {
            #expect(bounds.contains { $0.name == name }, "the document bounds \(name) somewhere")
        }
        for bound in bounds {
            let range = Self.range(of: bound.name)
            #expect(bound.minimum == range.lowerBound, "\(bound.path).\(bound.name) minimum")
            #expect(bound.maximum == range.upperBound, "\(bound.path).\(bound.name) maximum")
        }
    }

    /// The server refuses what HNSWParameters refuses, naming the field, before any SQL runs.
    @Test func theServerRefusesParametersOutsideTheLimits() throws {
        let tmp = TemporaryDirectory("quiver-hnsw-limits")
        let server = try ServerProcess(database: tmp.file("db"))
        let client = server.client()
        func create(_ name: String, _ index: [String: JSONValue]) throws {
            try client.call(
                "POST", "/tables",
                [
                    "name": .string(name),
                    "columns": [
                        ["name": "id", "type": "INTEGER", "primary_key": true], ["name": "v", "type": "VECTOR(2)"],
                    ],
                    "indexes": [.object(index.merging(["column": "v"]) { $1 })],
                ])
        }
        let m = HNSWParameters.mRange
        let ef = HNSWParameters.efConstructionRange
        for (field, value) in [
            ("m", m.lowerBound - 1), ("m", m.upperBound + 1),
            ("ef_construction", ef.lowerBound - 1), ("ef_construction", ef.upperBound + 1),
        ] {
            let error = expectStatus(400) { try create("refused", [field: .integer(Int64(value))]) }
            #expect(error?.message.contains("indexes[0].\(field)") == true, "\(String(describing: error))")
        }
        try create(
            "at_limits", ["m": .integer(Int64(m.upperBound)), "ef_construction": .integer(Int64(ef.upperBound))])
        let tables = try client.sql(
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE '\\_quiver%' ESCAPE '\\'"
        )
        #expect(tables.first?.rows == [[.string("at_limits")]], "a refused request creates nothing")

        let search = HNSWParameters.efSearchRange
        _ = try client.call(
            "POST", "/tables/at_limits/query", ["vector": [1, 0], "k": 1, "ef": .integer(Int64(search.upperBound))])
        for value in [search.lowerBound - 1, search.upperBound + 1] {
            expectStatus(400) {
                _ = try client.call(
                    "POST", "/tables/at_limits/query", ["vector": [1, 0], "k": 1, "ef": .integer(Int64(value))])
            }
        }
    }
}
