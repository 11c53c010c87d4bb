import QuiverKernels

/// SQL functions over vectors: pgvector's names where pgvector has one.
///
/// Distances are computed in double precision from the float32 elements, the same arithmetic
/// as the final re-ranking of an exact search, so `embedding <=> q` in a SELECT list equals the
/// distance the search ranked by, bit for bit.
enum VectorFunctions {
    static func register(on connection: Connection) throws {
        for metric in DistanceMetric.allCases {
            try connection.createFunction(metric.sqlFunction, argumentCount: 2) { args in
                try distance(metric, args)
            }
        }
        try connection.createFunction("inner_product", argumentCount: 2) { args in
            switch try distance(.innerProduct, args) {
            case .real(let negative): .real(-negative)
            default: .null
            }
        }
        try connection.createFunction("vector", argumentCount: 1) { args in
            args.isNull(0) ? .null : .vector(try vectorArgument(args, 0, what: "vector()"))
        }
        try connection.createFunction("vector_dims", argumentCount: 1) { args in
            args.isNull(0) ? .null : .integer(Int64(try vectorArgument(args, 0, what: "vector_dims()").count))
        }
        try connection.createFunction("vector_norm", argumentCount: 1) { args in
            guard !args.isNull(0) else { return .null }
            let v = try vectorArgument(args, 0, what: "vector_norm()")
            return .real(PairDistance.precise(.innerProduct, v, v).magnitude.squareRoot())
        }
        try connection.createFunction("vector_to_json", argumentCount: 1) { args in
            args.isNull(0) ? .null : .text(VectorCodec.format(try vectorArgument(args, 0, what: "vector_to_json()")))
        }
        // Used by the maintenance triggers (see MaintenanceTriggers).
        try connection.createFunction("quiver_vector_ok", argumentCount: 2) { args in
            if args.isNull(0) { return .integer(1) }
            guard args.isBlob(0) else { return .integer(0) }
            return .integer(VectorCodec.isCanonical(args.bytes(0), dimension: Int(args.int64(1))) ? 1 : 0)
        }
        try connection.createFunction("quiver_vector_store", argumentCount: 6) { args in
            let dimension = Int(args.int64(1))
            let place = "\(args.text(2)).\(args.text(3)) in row \(args.text(4))=\(describeRow(args.value(5)))"
            let values: [Float]
            do {
                values = try parseVector(args, 0)
            } catch {
                throw QuiverError.invalidVector("invalid vector for \(place): \(error)")
            }
            guard values.count == dimension else {
                throw QuiverError.dimensionMismatch(
                    "invalid vector for \(place): expected \(dimension) dimensions, got \(values.count)",
                    expected: dimension, got: values.count)
            }
            return .vector(values)
        }
    }

    /// A row's key as error messages show it.
    static func describeRow(_ value: SQLValue) -> String {
        switch value {
        case .integer(let v): "\(v)"
        case .text(let v): quoteLiteral(v)
        case .real(let v): "\(v)"
        default: "(no key)"
        }
    }

    private static func parseVector(_ args: FunctionArguments, _ i: Int) throws(VectorCodec.Problem) -> [Float] {
        if args.isBlob(0 + i) { return try VectorCodec.decode(args.bytes(i)) }
        if args.isText(i) { return try VectorCodec.parse(args.text(i)) }
        throw VectorCodec.Problem(
            args.isNull(i)
                ? "NULL is not a vector"
                : "a number is not a vector; write '[1, 2, 3]' or bind a float32 blob")
    }

    /// A vector argument (blob or literal); parsed once per statement when it is a constant.
    static func vectorArgument(_ args: FunctionArguments, _ i: Int, what: String) throws -> [Float] {
        do {
            if args.isText(i) {
                let parsed = args.cached(i) { () -> Result<[Float], VectorCodec.Problem> in
                    Result { () throws(VectorCodec.Problem) in try VectorCodec.parse(args.text(i)) }
                }
                return try parsed.get()
            }
            return try parseVector(args, i)
        } catch {
            throw QuiverError.invalidVector("\(what): invalid vector (argument \(i + 1)): \(error.message)")
        }
    }

    private static func distance(_ metric: DistanceMetric, _ args: FunctionArguments) throws -> SQLValue {
        if args.isNull(0) || args.isNull(1) { return .null }
        let a = try vectorArgument(args, 0, what: metric.sqlOperator)
        let b = try vectorArgument(args, 1, what: metric.sqlOperator)
        guard a.count == b.count else {
            throw QuiverError.dimensionMismatch(
                "\(metric.sqlOperator): vectors have different dimensions (\(a.count) and \(b.count))",
                expected: a.count, got: b.count)
        }
        let d = PairDistance.precise(metric, a, b)
        return d.isNaN ? .null : .real(d)
    }
}
