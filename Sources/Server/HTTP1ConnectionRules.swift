import Hummingbird
import NIOCore
import NIOHTTP1

/// Rules for each HTTP/1 connection that Hummingbird leaves to the application:
/// - a client has `readTimeout` to send a request's head, from the moment the server waits for
///   it (a new connection, or the answer to the previous request), and as long again for its
///   body, so one that trickles bytes (slowloris) cannot hold a connection open for ever;
/// - an HTTP/1.0 request without `Connection: keep-alive` closes its connection after the
///   answer, as HTTP/1.0 clients expect (Hummingbird closes only on `Connection: close`).
///
/// It sits between NIO's HTTP/1 decoder and Hummingbird's codec, where a request still has its
/// HTTP version; `HTTP1ConnectionRules.Installer` puts it there.
final class HTTP1ConnectionRules: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let readTimeout: TimeAmount
    private var deadline: Scheduled<Void>?
    /// Requests whose head arrived and whose answer has not ended.
    private var unanswered = 0

    init(readTimeout: TimeAmount) {
        self.readTimeout = readTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { startDeadline(context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) { cancelDeadline() }

    func channelActive(context: ChannelHandlerContext) {
        startDeadline(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancelDeadline()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(var head):
            unanswered += 1
            startDeadline(context) // now for the body
            if !head.isKeepAlive && head.headers["connection"].first?.lowercased() != "close" {
                head.headers.replaceOrAdd(name: "connection", value: "close")
                context.fireChannelRead(wrapInboundOut(.head(head)))
                return
            }
        case .body:
            break
        case .end:
            cancelDeadline()
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            unanswered = max(0, unanswered - 1)
            if unanswered == 0 { startDeadline(context) }
        }
        context.write(data, promise: promise)
    }

    private func startDeadline(_ context: ChannelHandlerContext) {
        cancelDeadline()
        deadline = context.eventLoop.assumeIsolated().scheduleTask(in: readTimeout) {
            context.close(promise: nil)
        }
    }

    private func cancelDeadline() {
        deadline?.cancel()
        deadline = nil
    }

    /// Added by Hummingbird after its codec; puts the rules right after NIO's request decoder.
    final class Installer: ChannelInboundHandler, RemovableChannelHandler {
        typealias InboundIn = NIOAny
        private let readTimeout: TimeAmount

        init(readTimeout: TimeAmount) {
            self.readTimeout = readTimeout
        }

        func handlerAdded(context: ChannelHandlerContext) {
            let pipeline = context.pipeline.syncOperations
            guard let decoder = try? pipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self) else {
                return
            }
            try? pipeline.addHandler(HTTP1ConnectionRules(readTimeout: readTimeout), position: .after(decoder))
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            context.fireChannelRead(data)
        }
    }
}
