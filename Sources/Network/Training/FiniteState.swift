import Dispatch

/// A parameter or BN statistic that is no longer a finite number.
public struct NonFiniteValue: Sendable, Equatable {
    /// The state_dict key, e.g. "features.1.running_var".
    public var tensor: String
    /// Flat index into the tensor (PyTorch layout for weights).
    public var index: Int
    public var value: Float
}

extension VGG11Trainer {
    /// The first tensor, in state_dict order, of parameters and BN running
    /// statistics that holds a NaN or infinity, with one such element; nil when
    /// all are finite.
    ///
    /// Why not only the loss: a learning rate far too large can blow up the BN
    /// running variances (or a weight) while the loss of the collapsed network
    /// stays a finite ln 10, and the weights saved would then be refused by every
    /// later command. Checked after every step; the scan is a bit-pattern max
    /// that vectorises, a few milliseconds for the 9.2 M values of VGG11 width 1
    /// (`fapsim bench train` reports it as phase `finite_check`).
    public func firstNonFiniteState() -> NonFiniteValue? {
        let t0 = profile == nil ? 0 : DispatchTime.now().uptimeNanoseconds
        defer {
            if profile != nil { profile!["finite_check", default: 0] += Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9 }
        }
        for (i, layer) in spec.gemmLayers.enumerated() {
            if let bad = Self.firstNonFinite(weights[i]) {
                // Stored as W[k][n]; name the element the way the weights file does.
                let pyTorch = (bad % layer.n) * layer.k + bad / layer.n
                return NonFiniteValue(tensor: layer.name + ".weight", index: pyTorch, value: weights[i][bad])
            }
            if let bad = Self.firstNonFinite(biases[i]) {
                return NonFiniteValue(tensor: layer.name + ".bias", index: bad, value: biases[i][bad])
            }
        }
        for (i, layer) in spec.batchNormLayers.enumerated() {
            for (suffix, values) in [("weight", bn[i].gamma), ("bias", bn[i].beta),
                                     ("running_mean", bn[i].runningMean), ("running_var", bn[i].runningVar)] {
                if let bad = Self.firstNonFinite(values) {
                    return NonFiniteValue(tensor: layer.name + "." + suffix, index: bad, value: values[bad])
                }
            }
        }
        return nil
    }

    /// The index of the first NaN or infinity in `values`. A float is not
    /// finite exactly when its exponent bits are all ones, i.e. when its
    /// magnitude bits are >= those of +infinity; the max of the magnitude bits
    /// is an integer reduction the compiler vectorises, so the common all-finite
    /// case costs one pass at memory speed.
    static func firstNonFinite(_ values: [Float]) -> Int? {
        let infinityBits = Float.infinity.bitPattern
        let largest = values.withUnsafeBufferPointer { buf -> UInt32 in
            buf.withMemoryRebound(to: UInt32.self) { bits in
                var m: UInt32 = 0
                for b in bits { m = max(m, b & 0x7FFF_FFFF) }
                return m
            }
        }
        guard largest >= infinityBits else { return nil }
        return values.firstIndex { !$0.isFinite }
    }
}
