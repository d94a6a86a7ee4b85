import CoreVideo
import EdgeHideFFI
import Foundation

/// One frame's answer.
public struct Classification: Equatable {
    /// The most likely class.
    public let index: Int
    /// Its label.
    public let label: String
    /// Its softmax probability.
    public let probability: Float
    /// The most likely classes and their probabilities, best first.
    public let top: [Ranked]

    /// A class and its probability.
    public struct Ranked: Equatable {
        public let index: Int
        public let probability: Float
    }

    init(_ c: EhClassification) {
        index = Int(c.class_index)
        probability = c.probability
        label = withUnsafeBytes(of: c.label) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        let indices = withUnsafeBytes(of: c.top_index) { Array($0.bindMemory(to: UInt32.self)) }
        let probs = withUnsafeBytes(of: c.top_probability) { Array($0.bindMemory(to: Float.self)) }
        top = (0..<Int(c.top_k)).map { Ranked(index: Int(indices[$0]), probability: probs[$0]) }
    }
}

/// A client of one model on one Open Inference Protocol server (edgehide's
/// own, Triton, KServe...). It sends only encryptions; retries resend the
/// same encryption, never a new one of the same frame.
public final class Client {
    let handle: OpaquePointer
    // The encryptor outlives nothing here: the library keeps what it needs.

    /// Connects to `model` at `url` and checks that the server's model
    /// expects what `encryptor` encrypts (nothing is sent otherwise).
    public init(
        url: URL, model: String, encryptor: Encryptor, timeout: TimeInterval = 10,
        retries: UInt32 = 2, topK: UInt32 = 3, halfPrecision: Bool = false,
        tlsRootsPEM: String? = nil
    ) throws {
        var out: OpaquePointer?
        let status = optionalCString(tlsRootsPEM) { pem -> Int32 in
            var options = EhClientOptions(
                timeout_ms: UInt32(max(0, timeout * 1000)), retries: retries, top_k: topK,
                f16: halfPrecision ? 1 : 0, tls_roots_pem: pem)
            return url.absoluteString.withCString { u in
                model.withCString { m in
                    eh_client_connect(u, m, encryptor.handle, &options, &out)
                }
            }
        }
        try EdgeHideError.check(status)
        handle = out!
    }

    deinit {
        eh_client_free(handle)
    }

    /// Encrypts `buffer` with a fresh key, sends the encryption, returns the
    /// server's answer. Blocking: call it off the main thread.
    public func classify(_ buffer: CVPixelBuffer, orientation: Orientation = .up) throws -> Classification {
        var answer = EhClassification()
        try withFrame(buffer, orientation) { frame in
            try EdgeHideError.check(eh_classify(handle, frame, &answer))
        }
        return Classification(answer)
    }
}
