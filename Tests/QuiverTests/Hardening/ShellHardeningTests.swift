import Foundation
import Testing

/// The shell running scripts: `.read` cannot recurse without end, and every error in a script
/// names the script and the line where the failing statement or command starts.
@Suite struct ShellHardeningTests {
    static func shell(_ arguments: [String], stdin: String, in directory: String) throws -> ProcessOutcome {
        try ProcessRunner.run(
            QuiverBinary.path(), ["shell"] + arguments, stdin: stdin, currentDirectory: directory,
            environment: ["HOME": directory, "TERM": "dumb"])
    }

    /// The finding: a file that reads itself crashed the shell (the stack overflowed).
    @Test func aFileThatReadsItselfStopsAtTheNestingLimit() throws {
        let tmp = TemporaryDirectory("quiver-shell-hardening")
        let db = tmp.file("db")
        try ".read loop.sql\nSELECT 1 AS after_the_read;\n".write(
            toFile: tmp.file("loop.sql"), atomically: true, encoding: .utf8)
        // Two files reading each other, too.
        try ".read pong.sql\n".write(toFile: tmp.file("ping.sql"), atomically: true, encoding: .utf8)
        try ".read ping.sql\n".write(toFile: tmp.file("pong.sql"), atomically: true, encoding: .utf8)
        for start in ["loop.sql", "ping.sql"] {
            let out = try Self.shell(
                ["--db", db], stdin: ".read \(start)\nSELECT 42 AS still_running;\n", in: tmp.path)
            #expect(out.status == 1 && !out.timedOut, "a clean failure, not a signal: \(out)")
            #expect(out.stderr.contains("nest more than 25 deep"), "\(out.stderr)")
            #expect(out.stdout.contains("42"), "the script goes on after the failed .read: \(out)")
        }
        // Within the limit, nesting works: 24 files, each reading the next.
        for level in 1...24 {
            let next = level < 24 ? ".read level\(level + 1).sql\n" : "SELECT 'deepest' AS reached;\n"
            try next.write(toFile: tmp.file("level\(level).sql"), atomically: true, encoding: .utf8)
        }
        let deep = try Self.shell(["--db", db], stdin: ".read level1.sql\n", in: tmp.path)
        #expect(deep.succeeded && deep.stdout.contains("deepest"), "\(deep)")
    }

    @Test func scriptErrorsNameTheScriptAndTheLineTheStatementStartsOn() throws {
        let tmp = TemporaryDirectory("quiver-shell-hardening")
        let db = tmp.file("db")
        // Standard input: a runtime error in the second statement of a unit, which starts on
        // line 4 although the unit starts on line 3; a bad meta-command on line 7.
        let stdin = """
            CREATE TABLE t (id INTEGER PRIMARY KEY);
            INSERT INTO t VALUES (1);
            SELECT 1 AS fine;
              INSERT INTO t VALUES (1);
            -- a comment

            .mode nonsense
            .read sub.sql
            """
        // A .read file: the error on its line 3, after a comment line, in a statement spread
        // over lines 3 to 4.
        try "SELECT 2 AS fine;\n-- why\nSELECT *\n  FROM missing_table;\n".write(
            toFile: tmp.file("sub.sql"), atomically: true, encoding: .utf8)
        let out = try Self.shell(["--db", db], stdin: stdin + "\n", in: tmp.path)
        #expect(out.status == 1, "\(out)")
        #expect(out.stderr.contains("Error: <stdin>:4: UNIQUE constraint failed"), "\(out.stderr)")
        #expect(out.stderr.contains("Error: <stdin>:7: "), "\(out.stderr)")
        #expect(out.stderr.contains("Error: sub.sql:3: no such table: missing_table"), "\(out.stderr)")
        #expect(out.stderr.contains("Error: <stdin>:8: sub.sql stopped with errors"), "\(out.stderr)")

        // `-c`: named as such.
        let command = try Self.shell(
            ["--db", db, "-c", "SELECT 1 AS a;\nSELECT nope FROM t;"], stdin: "", in: tmp.path)
        #expect(
            command.status == 1 && command.stderr.contains("Error: <command>:2: no such column: nope"), "\(command)")
    }
}
