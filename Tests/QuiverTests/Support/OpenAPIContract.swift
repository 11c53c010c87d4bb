import Foundation
import QuiverClient
import QuiverJSON

/// Checks HTTP responses against the OpenAPI document in Schemas/: the path and method must be
/// declared (or the answer must be the declared 404/405 error), the status must be one the
/// operation lists, and the body must match that status's schema. Covers the parts of OpenAPI
/// 3.0 Schema Objects the document uses: type, properties, required, additionalProperties,
/// items, enum, minimum, maximum, minLength, nullable, oneOf and $ref.
final class OpenAPIContract: @unchecked Sendable {
    static let documentPath = (repositoryRoot as NSString).appendingPathComponent("Schemas/quiver-api.openapi.json")

    /// A fresh checker over the document (nil when it is missing or not JSON).
    static func load() -> OpenAPIContract? {
        guard let data = FileManager.default.contents(atPath: documentPath),
            let document = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return nil }
        return OpenAPIContract(document: document)
    }

    private let paths: [String: [String: Any]]
    private let schemas: [String: Any]
    private let lock = NSLock()
    private var violations: [String] = []
    private var checkedCount = 0

    init(document: [String: Any]) {
        paths = document["paths"] as? [String: [String: Any]] ?? [:]
        schemas = (document["components"] as? [String: Any])?["schemas"] as? [String: Any] ?? [:]
    }

    var problems: [String] { lock.withLock { violations } }
    var checked: Int { lock.withLock { checkedCount } }

    /// Checks one exchange; problems are collected (`problems`), never thrown.
    func check(method: String, path: String, response: QuiverClient.Response) {
        let found = problems(method: method.lowercased(), path: path, response: response)
        lock.withLock {
            checkedCount += 1
            violations += found.map { "\(method) \(path) → \(response.status): \($0)" }
        }
    }

    private func problems(method: String, path: String, response: QuiverClient.Response) -> [String] {
        let bare = String(path.split(separator: "?", maxSplits: 1).first ?? "")
        guard let template = paths.keys.first(where: { Self.matches(template: $0, path: bare) }),
            let item = paths[template]
        else {
            // Undeclared paths must answer with the API's error shape.
            guard response.status == 404 else { return ["undeclared path answered \(response.status)"] }
            return validateJSON(response, schema: ["$ref": "#/components/schemas/Error"])
        }
        guard let operation = item[method] as? [String: Any] else {
            if method == "head" && item["get"] != nil { return [] }
            guard response.status == 405 else { return ["undeclared method answered \(response.status), not 405"] }
            return validateJSON(response, schema: ["$ref": "#/components/schemas/Error"])
        }
        let responses = operation["responses"] as? [String: Any] ?? [:]
        guard let declared = responses[String(response.status)] as? [String: Any] else {
            return ["status \(response.status) is not declared for \(method.uppercased()) \(template)"]
        }
        guard let content = declared["content"] as? [String: Any] else {
            return response.body.isEmpty ? [] : ["a body where none is declared"]
        }
        if let json = content["application/json"] as? [String: Any] {
            guard response.contentType.hasPrefix("application/json") else {
                return ["content type \(response.contentType), not JSON"]
            }
            return validateJSON(response, schema: json["schema"] as? [String: Any] ?? [:])
        }
        if content["text/plain"] != nil {
            return response.contentType.hasPrefix("text/plain")
                ? [] : ["content type \(response.contentType), not text/plain"]
        }
        return []
    }

    private func validateJSON(_ response: QuiverClient.Response, schema: [String: Any]) -> [String] {
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: response.body) else {
            return ["body is not JSON: \(response.text.prefix(200))"]
        }
        return validate(value, schema, at: "$")
    }

    static func matches(template: String, path: String) -> Bool {
        let t = template.split(separator: "/")
        let p = path.split(separator: "/")
        guard t.count == p.count else { return false }
        return zip(t, p).allSatisfy { $0.hasPrefix("{") || $0 == $1 }
    }

    func validate(_ value: JSONValue, _ schema: [String: Any], at place: String) -> [String] {
        if let reference = schema["$ref"] as? String {
            let name = String(reference.split(separator: "/").last ?? "")
            guard let target = schemas[name] as? [String: Any] else { return ["\(place): unknown $ref \(reference)"] }
            return validate(value, target, at: place)
        }
        if value == .null {
            return schema["nullable"] as? Bool == true || schema.isEmpty ? [] : ["\(place): null where not nullable"]
        }
        if let options = schema["oneOf"] as? [[String: Any]] {
            // An integer matches both integer and number alternatives; one or more passing is the intent here.
            if !options.contains(where: { validate(value, $0, at: place).isEmpty }) {
                return ["\(place): matches none of the oneOf alternatives: \(value.jsonText.prefix(80))"]
            }
        }
        var found: [String] = []
        if let allowed = schema["enum"] as? [String], !allowed.contains(value.stringValue ?? "\u{0}") {
            found.append("\(place): \(value.jsonText) is not one of \(allowed)")
        }
        switch schema["type"] as? String {
        case "object":
            guard let object = value.objectValue else {
                return ["\(place): expected an object, got \(value.jsonText.prefix(80))"]
            }
            let properties = schema["properties"] as? [String: Any] ?? [:]
            for name in schema["required"] as? [String] ?? [] where object[name] == nil {
                found.append("\(place): missing required \(name)")
            }
            for (key, child) in object {
                if let property = properties[key] as? [String: Any] {
                    found += validate(child, property, at: "\(place).\(key)")
                } else if let additional = schema["additionalProperties"] as? [String: Any] {
                    found += validate(child, additional, at: "\(place).\(key)")
                } else if schema["additionalProperties"] as? Bool == false {
                    found.append("\(place): property \(key) is not declared")
                }
            }
        case "array":
            guard let array = value.arrayValue else { return ["\(place): expected an array"] }
            if let items = schema["items"] as? [String: Any] {
                for (i, element) in array.enumerated() { found += validate(element, items, at: "\(place)[\(i)]") }
            }
        case "string":
            guard let string = value.stringValue else {
                return ["\(place): expected a string, got \(value.jsonText.prefix(80))"]
            }
            if let minimum = schema["minLength"] as? Int, string.count < minimum {
                found.append("\(place): shorter than \(minimum)")
            }
        case "integer":
            guard case .integer(let number) = value else {
                return ["\(place): expected an integer, got \(value.jsonText.prefix(80))"]
            }
            found += bounds(Double(number), schema, place)
        case "number":
            guard let number = value.doubleValue else {
                return ["\(place): expected a number, got \(value.jsonText.prefix(80))"]
            }
            found += bounds(number, schema, place)
        case "boolean":
            guard case .bool = value else { return ["\(place): expected a boolean"] }
        default:
            break
        }
        return found
    }

    private func bounds(_ value: Double, _ schema: [String: Any], _ place: String) -> [String] {
        var found: [String] = []
        if let minimum = (schema["minimum"] as? NSNumber)?.doubleValue, value < minimum {
            found.append("\(place): \(value) < \(minimum)")
        }
        if let maximum = (schema["maximum"] as? NSNumber)?.doubleValue, value > maximum {
            found.append("\(place): \(value) > \(maximum)")
        }
        return found
    }
}
