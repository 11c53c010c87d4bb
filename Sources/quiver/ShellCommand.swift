import ArgumentParser
import Foundation
import QuiverShell

struct ShellCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shell",
        abstract: "An interactive SQL shell: line editing, history, completion, meta-commands (.help).",
        discussion: """
            On a terminal: statements end with ";" and may span lines; Ctrl-C cancels a running \
            statement (or clears the line), Ctrl-D leaves; history is kept in ~/.quiver_history \
            ($QUIVER_HISTORY overrides). With -c, or with standard input from a file or a pipe, it \
            runs the statements and commands as a script, with no prompt, colour or history, and \
            exits non-zero when any of them failed. With --connect it talks to a running quiver \
            serve, where each statement is its own transaction.
            """)

    @OptionGroup var database: DatabaseOption

    @Option(name: .long, help: "A running quiver serve: http://HOST:PORT or unix:/path/to/socket (instead of --db).")
    var connect: String?

    @Option(name: .long, help: "Bearer token for --connect (default: $QUIVER_TOKEN).")
    var token: String?

    @Option(name: [.customShort("c"), .long], help: "Run these statements and commands, then exit.")
    var command: String?

    @Flag(help: "Stop a script at its first error.")
    var bail = false

    func validate() throws {
        if connect != nil && database.db != nil { throw ValidationError("give --db or --connect, not both") }
    }

    func run() throws {
        let environment = ProcessInfo.processInfo.environment
        let backend: ShellBackend
        if let connect {
            backend = try RemoteBackend(url: connect, token: token ?? environment["QUIVER_TOKEN"])
        } else {
            backend = try EmbeddedBackend(path: database.path)
        }
        let interactive = command == nil && isatty(STDIN_FILENO) == 1
        let styled =
            interactive && isatty(STDOUT_FILENO) == 1 && isatty(STDERR_FILENO) == 1
            && environment["TERM"] != "dumb" && environment["NO_COLOR"] == nil
        let shell = Shell(
            backend: backend,
            options: .init(
                styled: styled, bail: bail,
                historyPath: interactive ? Shell.defaultHistoryPath : nil))
        let status: Int32
        if let command {
            var lines = command.split(separator: "\n", omittingEmptySubsequences: false)[...]
            status = shell.runScript(named: "<command>") { lines.popFirst().map(String.init) }
        } else if interactive {
            status = shell.runInteractive()
        } else {
            status = shell.runScript { readLine(strippingNewline: true) }
        }
        if status != 0 { throw ExitCode(status) }
    }
}
