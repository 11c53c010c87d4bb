import Foundation
import Hummingbird

/// Reading request bodies and writing responses as JSON.
enum JSONBody {
    /// The request body decoded as `T`; 413 past the body limit, 400 saying what is wrong.
    static func decode<T: Decodable>(_ type: T.Type, from request: Request, context: ServerContext) async throws -> T {
        var request = request
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: context.bodyLimit)
        } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
            // HTTPError for a declared length, NIOTooManyBytesError for a chunked body.
            throw APIError.tooLarge("request body larger than the limit of \(context.bodyLimit) bytes")
        }
        guard buffer.readableBytes > 0 else { throw APIError.badRequest("the request needs a JSON body") }
        do {
            return try buffer.withUnsafeReadableBytes { bytes in
                try JSONStructureCheck.check(bytes)
                return try JSONDecoder().decode(StrictlyDecoded<T>.self, from: Data(bytes)).value
            }
        } catch let error as DecodingError {
            throw APIError.badRequest("invalid request body: \(APIError.describe(error))")
        } catch let error as UnknownFieldError {
            throw APIError.badRequest(
                "invalid request body: unknown field \"\(error.field)\" at \(APIError.path(error.codingPath)); it takes \(error.known.joined(separator: ", "))"
            )
        }
    }

    static func response<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
        let data = try JSONEncoder().encode(value)
        return Response(
            status: status, headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
