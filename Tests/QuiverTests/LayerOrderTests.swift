import Foundation
import Testing

/// Package.swift's header and ARCHITECTURE.md's layer table name the same layers in the same
/// order, and every target depends only on targets above it in that order, so the layering a
/// reader is told about is the one SwiftPM builds.
@Suite struct LayerOrderTests {
    let package: String
    let architecture: String

    init() throws {
        package = try String(
            contentsOfFile: (repositoryRoot as NSString).appendingPathComponent("Package.swift"), encoding: .utf8)
        architecture = try String(
            contentsOfFile: (repositoryRoot as NSString).appendingPathComponent("ARCHITECTURE.md"), encoding: .utf8)
    }

    /// The Quiver targets in the order the header comment names them.
    var headerOrder: [String] {
        let header = package.components(separatedBy: "\n").prefix { !$0.hasPrefix("let package") }
            .filter { $0.hasPrefix("//") }
        return firstMentions(in: header.joined(separator: "\n"))
    }

    /// The Quiver library targets in the order of ARCHITECTURE.md's layer table.
    var tableOrder: [String] {
        let rows = architecture.components(separatedBy: "\n").drop { !$0.hasPrefix("| Layer |") }
            .prefix { $0.hasPrefix("|") }
        return firstMentions(
            in: rows.compactMap { $0.components(separatedBy: "|").dropFirst(2).first }
                .joined(separator: "\n"))
    }

    private func firstMentions(in text: String) -> [String] {
        let names = text.matches(of: /\bQuiver[A-Z][A-Za-z]*/).map { String($0.output) }
        var seen = Set<String>()
        return names.filter { seen.insert($0).inserted }
    }

    /// Each `.target(name: "Quiver…", dependencies: [...])` with the Quiver targets it names.
    var dependencies: [String: [String]] {
        var result: [String: [String]] = [:]
        for match in package.matches(of: /\.target\(name: "(Quiver[A-Za-z]+)"(?:, dependencies: \[([^\]]*)\])?/) {
            result[String(match.output.1)] = match.output.2.map { firstMentions(in: String($0)) } ?? []
        }
        return result
    }

    @Test func theHeaderAndTheTableNameTheSameLayersInTheSameOrder() {
        #expect(headerOrder.count >= 15, "the header comment was not found: \(headerOrder)")
        let libraries = Set(dependencies.keys)
        #expect(headerOrder == tableOrder.filter { libraries.contains($0) })
        #expect(Set(headerOrder) == libraries, "every library target is a layer, and only those")
    }

    @Test func everyTargetDependsOnlyOnLayersAboveIt() {
        let position = Dictionary(uniqueKeysWithValues: headerOrder.enumerated().map { ($0.element, $0.offset) })
        for (target, uses) in dependencies {
            for used in uses {
                #expect(
                    (position[used] ?? .max) < (position[target] ?? .min),
                    "\(target) depends on \(used), which is not above it")
            }
        }
    }
}
