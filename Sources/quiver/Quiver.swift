import ArgumentParser
import Foundation

@main
struct Quiver: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quiver",
        abstract: "A vector-plus-relational data store: SQLite rows, vector search, one SQL.",
        subcommands: [
            SQLCommand.self, SearchCommand.self, ImportCommand.self, ExportCommand.self, ShellCommand.self,
            DemoCommand.self, ServeCommand.self,
        ])
}

/// The database directory, shared by every subcommand.
struct DatabaseOption: ParsableArguments {
    @Option(name: .long, help: "Database directory, created on first use (default: $QUIVER_DB or ./quiver-data).")
    var db: String?

    var path: String {
        db ?? ProcessInfo.processInfo.environment["QUIVER_DB"] ?? "quiver-data"
    }
}
