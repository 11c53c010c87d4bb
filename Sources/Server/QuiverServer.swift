import Foundation
import Hummingbird
import Logging
import NIOCore
import QuiverEngine
import QuiverKernels

/// `quiver serve`: the HTTP/1.1 + JSON API over one database, on TCP and/or a Unix socket.
///
/// Requests pass, outermost first: HEAD without body → metrics → JSON errors → browser guard (Host, Origin,
/// Content-Type; CORS for allowed origins) → body limit → bearer token → route.
/// SIGTERM or SIGINT stops accepting connections, lets requests in flight finish (those still
/// running after `shutdownGrace` are stopped with 503), then returns.
public enum QuiverServer {
    /// Serves until SIGTERM/SIGINT. `announce` is told each address once it is listening (with
    /// the real port when `port` is 0).
    public static func run(
        _ configuration: ServerConfiguration,
        announce: @escaping @Sendable (String) -> Void = { print($0) }
    ) async throws {
        guard configuration.host != nil || configuration.socketPath != nil else {
            throw ServerError("nothing to listen on: give a host/port or --socket")
        }
        if configuration.readToken != nil && configuration.token == nil {
            throw ServerError("--read-token needs --token too: without it every caller could write")
        }
        if configuration.token?.isEmpty == true || configuration.readToken?.isEmpty == true {
            throw ServerError("an empty token would let anyone in: give a token of at least one character, or none")
        }
        if let readToken = configuration.readToken, readToken == configuration.token {
            throw ServerError(
                "--read-token is the same as --token, so read-token holders could write: give it a different value")
        }
        // Queries run on several reader threads at once; BLAS threads of its own would fight them.
        BLASThreading.useCallingThreadOnly()
        let pool = try DatabasePool(
            path: configuration.databasePath, readers: configuration.readers,
            timeout: configuration.limits.statementTimeout,
            maxResultBytes: configuration.limits.maxResponseBytes)
        defer { pool.close() }
        var logger = Logger(label: "quiver-serve") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel =
            ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .warning
        let services = ServerServices(
            pool: pool, limits: configuration.limits, metrics: ServerMetrics(),
            checkpoints: IndexCheckpointHealth(logger: logger))
        let served = configuration.namingItsOwnHost()

        let readTimeout = TimeAmount.nanoseconds(Int64(served.limits.readTimeout * 1e9))
        var applications: [Application<RouterResponder<ServerContext>>] = []
        if let host = served.host {
            applications.append(
                Application(
                    router: makeRouter(served, services: services, checksHost: true),
                    server: .http1(
                        configuration: .init(additionalChannelHandlers: [
                            HTTP1ConnectionRules.Installer(readTimeout: readTimeout)
                        ])),
                    configuration: .init(address: .hostname(host, port: served.port), serverName: "quiver"),
                    onServerRunning: { channel in
                        let port = channel.localAddress?.port ?? served.port
                        let shown = host.contains(":") ? "[\(host)]" : host
                        announce("quiver serve: listening on http://\(shown):\(port)")
                    }, logger: logger))
        }
        if let socketPath = served.socketPath {
            try UnixSocketPath.prepare(socketPath)
            applications.append(
                Application(
                    router: makeRouter(served, services: services, checksHost: false),
                    server: .http1(
                        configuration: .init(additionalChannelHandlers: [
                            HTTP1ConnectionRules.Installer(readTimeout: readTimeout)
                        ])),
                    configuration: .init(address: .unixDomainSocket(path: socketPath), serverName: "quiver"),
                    onServerRunning: { _ in announce("quiver serve: listening on unix:\(socketPath)") }, logger: logger)
            )
        }
        // The service group below stops accepting on SIGTERM/SIGINT and waits for requests in
        // flight; one that would never end must not keep the process alive.
        let shutdown = ShutdownDeadline(grace: served.shutdownGrace) { pool.stopRunningWork() }
        defer { shutdown.cancel() }
        // One service group runs every listener, so one signal drains them all.
        var main = applications.removeFirst()
        if let unix = applications.first { main.addServices(unix) }
        try await main.runService()
    }

    /// The routes behind their middleware; `checksHost` is false on the Unix socket, which no
    /// browser reaches and where clients send any Host.
    static func makeRouter(_ configuration: ServerConfiguration, services: ServerServices, checksHost: Bool) -> Router<
        ServerContext
    > {
        let router = Router(context: ServerContext.self)
        router.add(middleware: HeadMiddleware())
        router.add(middleware: MetricsMiddleware(metrics: services.metrics))
        let methods = RouteMethods()
        router.add(middleware: ErrorMiddleware(routes: methods))
        router.add(middleware: BrowserGuardMiddleware(policy: configuration.browsers, checksHost: checksHost))
        if !configuration.browsers.allowedOrigins.isEmpty {
            // Only allowed origins get this far; their preflights and answers carry CORS headers.
            router.add(
                middleware: CORSMiddleware(
                    allowOrigin: .originBased, allowHeaders: [.authorization, .contentType],
                    allowMethods: [.get, .post, .delete, .head], maxAge: .seconds(600)))
        }
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

extension ServerConfiguration {
    /// The `--host` value is a name of this server too.
    func namingItsOwnHost() -> ServerConfiguration {
        var configuration = self
        if let host { configuration.browsers.allowedHosts.insert(BrowserPolicy.hostName(host)) }
        return configuration
    }
}

/// A configuration the server cannot start with.
public struct ServerError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
