import Foundation

/// The seed inputs kept in the repository under Tests/FuzzCorpus/<target>/: each file is one
/// entry, except `*.lines` files, whose lines are one entry each. `regressions/` holds inputs
/// that once broke something; they are replayed as they are before any mutation.
enum FuzzCorpus {
    static let root = (repositoryRoot as NSString).appendingPathComponent("Tests/FuzzCorpus")

    static func entries(_ target: String) -> [[UInt8]] {
        let folder = (root as NSString).appendingPathComponent(target)
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted()
        var entries: [[UInt8]] = []
        for name in names {
            let path = (folder as NSString).appendingPathComponent(name)
            guard let data = FileManager.default.contents(atPath: path) else { continue } // a folder
            if name.hasSuffix(".lines") {
                entries += data.split(separator: 0x0A, omittingEmptySubsequences: true).map(Array.init)
            } else {
                entries.append(Array(data))
            }
        }
        return entries + regressions(target)
    }

    static func regressions(_ target: String) -> [[UInt8]] {
        let folder = (root as NSString).appendingPathComponent("\(target)/regressions")
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted()
        return names.compactMap {
            FileManager.default.contents(atPath: (folder as NSString).appendingPathComponent($0)).map(Array.init)
        }
    }

    /// The inputs of a run: the regressions first, as they are, then mutants.
    static func inputs(_ target: String, seed: UInt64, corpus: [[UInt8]], dictionary: [String])
        -> @Sendable (Int) -> [UInt8]
    {
        let fixed = regressions(target)
        let mutator = MutatorBox(FuzzMutator(seed: seed, corpus: corpus, dictionary: dictionary))
        return { i in i < fixed.count ? fixed[i] : mutator.next() }
    }
}

/// The mutator behind a lock, for the fuzz loop's worker thread.
final class MutatorBox: @unchecked Sendable {
    private var mutator: FuzzMutator
    private let lock = NSLock()
    init(_ mutator: FuzzMutator) { self.mutator = mutator }
    func next() -> [UInt8] { lock.withLock { mutator.next() } }
}
