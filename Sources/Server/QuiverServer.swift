import Foundation
import Hummingbird
import Logging
import QuiverEngine
import QuiverKernels

/// `quiver serve`: the HTTP/1.1 + JSON API over one database, on TCP and/or a Unix socket.
///
/// Requests pass, outermost first: metrics → JSON errors → body limit → bearer token → route.
/// SIGTERM or SIGINT stops accepting connections, lets requests in flight finish, then returns.
public enum QuiverServer {
    /// Serves until SIGTERM/SIGINT. `announce` is told each address once it is listening (with
    /// the real port when `port` is 0).
    public static func run(_ configuration: ServerConfiguration,
                           announce: @escaping @Sendable (String) -> Void = { print($0) }) async throws {
        guard configuration.host != nil || configuration.socketPath != nil else {
            throw ServerError("nothing to listen on: give a host/port or --socket")
        }
        if configuration.readToken != nil && configuration.token == nil {
            throw ServerError("--read-token needs --token too: without it every caller could write")
        }
        // Queries run on several reader threads at once; BLAS threads of its own would fight them.
        BLASThreading.useCallingThreadOnly()
        let pool = try DatabasePool(path: configuration.databasePath, readers: configuration.readers,
                                    timeout: configuration.limits.statementTimeout,
                                    maxResultBytes: configuration.limits.maxResponseBytes)
        defer { pool.close() }
        var logger = Logger(label: "quiver-serve") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .warning
        let services = ServerServices(pool: pool, limits: configuration.limits, metrics: ServerMetrics(),
                                      checkpoints: IndexCheckpointHealth(logger: logger))
        let router = makeRouter(configuration, services: services)

        var applications: [Application<RouterResponder<ServerContext>>] = []
        if let host = configuration.host {
            applications.append(Application(
                router: router, configuration: .init(address: .hostname(host, port: configuration.port), serverName: "quiver"),
                onServerRunning: { channel in
                    let port = channel.localAddress?.port ?? configuration.port
                    let shown = host.contains(":") ? "[\(host)]" : host
                    announce("quiver serve: listening on http://\(shown):\(port)")
                }, logger: logger))
        }
        if let socketPath = configuration.socketPath {
            try UnixSocketPath.prepare(socketPath)
            applications.append(Application(
                router: router, configuration: .init(address: .unixDomainSocket(path: socketPath), serverName: "quiver"),
                onServerRunning: { _ in announce("quiver serve: listening on unix:\(socketPath)") }, logger: logger))
        }
        // One service group runs every listener, so one signal drains them all.
        var main = applications.removeFirst()
        if let unix = applications.first { main.addServices(unix) }
        try await main.runService()
    }

    static func makeRouter(_ configuration: ServerConfiguration, services: ServerServices) -> Router<ServerContext> {
        let router = Router(context: ServerContext.self)
        router.add(middleware: MetricsMiddleware(metrics: services.metrics))
        let methods = RouteMethods()
        router.add(middleware: ErrorMiddleware(routes: methods))
        router.add(middleware: LimitsMiddleware(limits: configuration.limits))
        router.add(middleware: AuthMiddleware(token: configuration.token, readToken: configuration.readToken))
        var routes = RouteTable(router: router, methods: methods)
        HealthRoutes.add(to: &routes, services: services)
        TableRoutes.add(to: &routes, services: services)
        RowRoutes.add(to: &routes, services: services)
        QueryRoutes.add(to: &routes, services: services)
        SQLRoutes.add(to: &routes, services: services)
        DedupeRoutes.add(to: &routes, services: services)
        return router
    }
}

/// A configuration the server cannot start with.
public struct ServerError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
