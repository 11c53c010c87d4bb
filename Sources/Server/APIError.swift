import Foundation
import Hummingbird
import QuiverEngine
import QuiverQuery
import QuiverStorage

/// An error the API reports as `{"error": {"code": …, "message": …}}` with an HTTP status.
/// Every failure a request can cause ends up as one of these; none crashes the server.
struct APIError: Error, HTTPResponseError, CustomStringConvertible {
    var status: HTTPResponse.Status
    /// A stable machine-readable word: bad_request, unauthorized, forbidden, not_found, …
    var code: String
    var message: String
    var headers: HTTPFields = [:]

    var description: String { "\(status.code) \(code): \(message)" }

    static func badRequest(_ message: String) -> APIError { APIError(status: .badRequest, code: "bad_request", message: message) }
    static func notFound(_ message: String) -> APIError { APIError(status: .notFound, code: "not_found", message: message) }
    static func forbidden(_ message: String) -> APIError { APIError(status: .forbidden, code: "forbidden", message: message) }
    static func conflict(_ message: String) -> APIError { APIError(status: .conflict, code: "conflict", message: message) }
    static func tooLarge(_ message: String) -> APIError { APIError(status: .contentTooLarge, code: "too_large", message: message) }
    static func unauthorized(_ message: String) -> APIError {
        APIError(status: .unauthorized, code: "unauthorized", message: message,
                 headers: [.wwwAuthenticate: "Bearer realm=\"quiver\""])
    }
    static func unavailable(_ message: String) -> APIError {
        APIError(status: .serviceUnavailable, code: "unavailable", message: message)
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        var fields = headers
        fields[.contentType] = "application/json; charset=utf-8"
        let body = ErrorBody(error: .init(code: code, message: message))
        let data = (try? JSONEncoder().encode(body)) ?? Data("{\"error\":{\"code\":\"internal\",\"message\":\"\"}}".utf8)
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    struct ErrorBody: Encodable {
        struct Detail: Encodable {
            var code: String
            var message: String
        }
        var error: Detail
    }

    /// The API's view of any error: SQL errors are the client's (400; 403 when the authorizer
    /// refused; 409 for constraint violations), decoding errors say where the JSON is wrong.
    /// `responseLimit` is the server's --max-response-bytes, which results past it are told.
    static func from(_ error: any Error, database: Database? = nil, responseLimit: Int? = nil) -> APIError {
        if let responseLimit {
            if let tooLarge = error as? ResultTooLarge { return .tooLarge("\(tooLarge) (--max-response-bytes)") }
            let sqlite = (error as? Database.StatementError)?.underlying ?? (error as? SQLiteError)
            if let sqlite, sqlite.code & 0xff == 18 /* SQLITE_TOOBIG */ {
                return .tooLarge("\(error): a value is larger than the limit of \(responseLimit) bytes (--max-response-bytes)")
            }
        }
        switch error {
        case let error as APIError:
            return error
        case let error as Database.StatementError:
            return fromSQL(error.underlying, prefix: error.statementCount > 1 ? "\(error.unit) \(error.statementIndex): " : "",
                           database: database)
        case let error as SQLiteError:
            return fromSQL(error, prefix: "", database: database)
        case let error as DecodingError:
            return .badRequest("invalid request body: \(describe(error))")
        case let error as HTTPError:
            return APIError(status: error.status, code: code(for: error.status), message: error.body ?? error.status.reasonPhrase)
        case let error as any HTTPResponseError:
            // NIOTooManyBytesError (a chunked body past the limit) and the like: their status, not 500.
            return APIError(status: error.status, code: code(for: error.status), message: error.status.reasonPhrase)
        default:
            return APIError(status: .internalServerError, code: "internal", message: "\(error)")
        }
    }

    private static func fromSQL(_ error: SQLiteError, prefix: String, database: Database?) -> APIError {
        if error.code & 0xff == 23 /* SQLITE_AUTH */ || error.message.contains("not authorized"),
           let denial = database?.lastAccessDenial {
            return .forbidden(prefix + denial)
        }
        if error.isBusy { return .unavailable(prefix + error.message) }
        switch error.code & 0xff {
        case 13 /* SQLITE_FULL */:
            return APIError(status: .init(code: 507, reasonPhrase: "Insufficient Storage"), code: "storage_full",
                            message: prefix + "the database could not grow (\(error.message)): the disk or the database's size limit is full; nothing of the request was kept")
        case 7 /* SQLITE_NOMEM */:
            return APIError(status: .serviceUnavailable, code: "out_of_memory",
                            message: prefix + "the server ran out of memory for this request (\(error.message)); nothing of it was kept")
        case 10 /* SQLITE_IOERR */:
            return APIError(status: .serviceUnavailable, code: "io_error",
                            message: prefix + "the server could not read or write its files (\(error.message)); nothing of the request was kept")
        default:
            break
        }
        var message = prefix + error.message
        if let sql = error.sql, let offset = error.offset, offset >= 0, offset <= sql.utf8.count {
            let near = String(decoding: Array(sql.utf8)[offset...].prefix(40), as: UTF8.self)
            if !near.isEmpty && !message.contains(near) { message += " (at byte \(offset): \"\(near)\")" }
        }
        if error.isConstraint { return APIError(status: .conflict, code: "constraint", message: message) }
        return APIError(status: .badRequest, code: "sql_error", message: message)
    }

    static func code(for status: HTTPResponse.Status) -> String {
        switch status.code {
        case 400: "bad_request"
        case 401: "unauthorized"
        case 403: "forbidden"
        case 404: "not_found"
        case 405: "method_not_allowed"
        case 413: "too_large"
        case 415: "unsupported_media_type"
        case 421: "misdirected_request"
        default: status.code >= 500 ? "internal" : "error"
        }
    }

    /// "at rows[2].embedding: expected an array, found a string", not Swift's debug text.
    /// Where in a request body: `queries[2].filter`, or "the top level".
    static func path(_ codingPath: [any CodingKey]) -> String {
        var text = ""
        for key in codingPath {
            if let index = key.intValue { text += "[\(index)]" } else { text += (text.isEmpty ? "" : ".") + key.stringValue }
        }
        return text.isEmpty ? "the top level" : text
    }

    static func describe(_ error: DecodingError) -> String {
        switch error {
        case .typeMismatch(let type, let context):
            return "at \(path(context.codingPath)): expected \(typeName(type))"
        case .valueNotFound(let type, let context):
            return "at \(path(context.codingPath)): expected \(typeName(type)), found null"
        case .keyNotFound(let key, let context):
            return "missing field \"\(key.stringValue)\" at \(path(context.codingPath))"
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty { return "malformed JSON (\(context.underlyingError.map { "\($0)" } ?? context.debugDescription))" }
            return "at \(path(context.codingPath)): \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }

    private static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int.Type, is Int64.Type, is Double.Type, is Float.Type: "a number"
        case is Bool.Type: "a boolean"
        default:
            "\(type)".hasPrefix("Array") ? "an array" : "\(type)".hasPrefix("Dictionary") ? "an object" : "\(type)"
        }
    }
}
