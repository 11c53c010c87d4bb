import CQuiverSIMD
import QuiverKernels

/// The distance a graph walk compares. Cosine (on normalised vectors) and inner product both
/// walk by negative dot product, so a step is one SIMD dot product; L2 walks by squared distance.
/// Generic parameters rather than a switch per step, so each walk is compiled for its kernel.
protocol DistanceKernel {
    static func distance(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float
}

enum NegativeDotKernel: DistanceKernel {
    @inline(__always)
    static func distance(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
        -quiver_dot_f32(a, b, n)
    }
}

enum SquaredL2Kernel: DistanceKernel {
    @inline(__always)
    static func distance(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
        quiver_l2sq_f32(a, b, n)
    }
}

extension DistanceMetric {
    /// Converts a walk distance to the metric's distance as SQL reports it.
    func reported(fromWalk d: Float) -> Float {
        switch self {
        case .l2: d.squareRoot()
        case .cosine: 1 + d
        case .innerProduct: d
        }
    }

    /// Vectors are stored normalised for cosine, so that walking by dot product is exact.
    var normalisesVectors: Bool { self == .cosine }
}
