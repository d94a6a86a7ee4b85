import CoreVideo
import EdgeHideFFI

/// Encrypts camera frames for one model: an InstaHide model with its public
/// corpus, each frame with a fresh one-time key that never leaves the
/// library, or a DisguisedNets model with its deployment key, read from its
/// file by the library. Keys and frames stay in native memory; Swift sees
/// only the encryption.
public final class Encryptor {
    /// Which processor encrypts.
    public enum Backend: UInt32 {
        /// The GPU (Metal) when there is one, else the CPU.
        case auto = 0
        /// The CPU.
        case cpu = 1
        /// The GPU, or an error.
        case gpu = 2
    }

    let handle: OpaquePointer

    /// An encryptor for the model whose sidecar is `sidecarJSON`, with the
    /// corpus at `poolPath` (the bundled one when nil).
    public init(sidecarJSON: String, poolPath: String? = nil, backend: Backend = .auto) throws {
        var out: OpaquePointer?
        let status = sidecarJSON.withCString { json in
            optionalCString(poolPath) { pool in
                eh_encryptor_open(json, nil, pool, backend.rawValue, &out)
            }
        }
        try EdgeHideError.check(status)
        handle = out!
    }

    /// An encryptor for the DisguisedNets model whose sidecar is
    /// `sidecarJSON`, with the deployment key in the file at `keyPath`
    /// (keep it under the app's data protection; the library reads it
    /// into memory it wipes, so no Swift value ever holds the key).
    public init(sidecarJSON: String, keyPath: String, backend: Backend = .auto) throws {
        var out: OpaquePointer?
        let status = sidecarJSON.withCString { json in
            keyPath.withCString { key in
                eh_encryptor_open_keyed(json, nil, key, backend.rawValue, &out)
            }
        }
        try EdgeHideError.check(status)
        handle = out!
    }

    deinit {
        eh_encryptor_free(handle)
    }

    /// "cpu", or "gpu: <adapter>".
    public var backend: String {
        eh_encryptor_backend(handle).map { String(cString: $0) } ?? ""
    }

    /// Why `.auto` ended on the CPU, if it did.
    public var fallbackReason: String? {
        eh_encryptor_fallback_reason(handle).map { String(cString: $0) }
    }

    /// Floats per encryption (channels x height x width).
    public var outputCount: Int {
        Int(eh_encryptor_output_len(handle))
    }

    /// Encrypts `buffer` (`420v`, `420f` or `BGRA`, read in place) with a
    /// fresh one-time key: the values to send, channels first.
    public func encrypt(_ buffer: CVPixelBuffer, orientation: Orientation = .up) throws -> [Float] {
        var out = [Float](repeating: 0, count: outputCount)
        try withFrame(buffer, orientation) { frame in
            try out.withUnsafeMutableBufferPointer { dst in
                try EdgeHideError.check(eh_encrypt(handle, frame, dst.baseAddress, dst.count))
            }
        }
        return out
    }
}

/// Calls `body` with `s` as a C string, or with nil.
func optionalCString<R>(_ s: String?, _ body: (UnsafePointer<CChar>?) -> R) -> R {
    guard let s = s else { return body(nil) }
    return s.withCString { body($0) }
}
