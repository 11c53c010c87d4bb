/// The three distances of pgvector, named by their SQL operators.
public enum DistanceMetric: String, Sendable, CaseIterable, Codable {
    /// `<->`: Euclidean distance.
    case l2
    /// `<=>`: cosine distance, `1 - cos(a, b)`; undefined (NULL) when either vector is zero.
    case cosine
    /// `<#>`: negative inner product, so that smaller is closer like the others.
    case innerProduct = "ip"

    public var sqlOperator: String {
        switch self {
        case .l2: "<->"
        case .cosine: "<=>"
        case .innerProduct: "<#>"
        }
    }

    /// pgvector's operator class for an index over this metric.
    public var operatorClass: String {
        switch self {
        case .l2: "vector_l2_ops"
        case .cosine: "vector_cosine_ops"
        case .innerProduct: "vector_ip_ops"
        }
    }

    /// The SQL function a `a <op> b` expression is rewritten to.
    public var sqlFunction: String {
        switch self {
        case .l2: "l2_distance"
        case .cosine: "cosine_distance"
        case .innerProduct: "negative_inner_product"
        }
    }

    public init?(sqlOperator: String) {
        guard let metric = Self.allCases.first(where: { $0.sqlOperator == sqlOperator }) else { return nil }
        self = metric
    }

    /// Accepts the names users type: `cosine`, `l2`, `ip`, `inner_product`, and the operator classes.
    public init?(name: String) {
        switch name.lowercased() {
        case "l2", "euclidean", "vector_l2_ops", "<->": self = .l2
        case "cosine", "cos", "vector_cosine_ops", "<=>": self = .cosine
        case "ip", "inner_product", "innerproduct", "dot", "vector_ip_ops", "<#>": self = .innerProduct
        default: return nil
        }
    }
}
