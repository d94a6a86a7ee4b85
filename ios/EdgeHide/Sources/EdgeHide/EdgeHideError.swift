import EdgeHideFFI

/// A failed call: the library's stable status code and its message.
public struct EdgeHideError: Error, CustomStringConvertible, Equatable {
    /// What kind of failure, from the status code.
    public enum Kind: Equatable {
        case nullPointer, invalidArgument, invalidFrame, unknownFormat, bufferSize
        case invalidSpec, invalidPool, io, noGPU, gpu, entropy
        case transport, server, serverMismatch, malformedAnswer
        case panic, closedHandle, invalidKey, unsupportedPixelFormat, `internal`
    }

    /// The status code (`EH_*` in edgehide.h).
    public let code: Int32
    /// What went wrong, for people; never key material or pixels.
    public let message: String

    /// The kind of failure.
    public var kind: Kind {
        switch code {
        case EH_NULL_POINTER: return .nullPointer
        case EH_INVALID_ARGUMENT: return .invalidArgument
        case EH_INVALID_FRAME: return .invalidFrame
        case EH_UNKNOWN_FORMAT: return .unknownFormat
        case EH_BUFFER_SIZE: return .bufferSize
        case EH_INVALID_SPEC: return .invalidSpec
        case EH_INVALID_POOL: return .invalidPool
        case EH_IO: return .io
        case EH_NO_GPU: return .noGPU
        case EH_GPU: return .gpu
        case EH_ENTROPY: return .entropy
        case EH_TRANSPORT: return .transport
        case EH_SERVER: return .server
        case EH_SERVER_MISMATCH: return .serverMismatch
        case EH_PROTOCOL: return .malformedAnswer
        case EH_PANIC: return .panic
        case EH_CLOSED_HANDLE: return .closedHandle
        case EH_INVALID_KEY: return .invalidKey
        case EdgeHideError.unsupportedPixelFormatCode: return .unsupportedPixelFormat
        default: return .internal
        }
    }

    public var description: String { "EdgeHideError(\(code)): \(message)" }

    /// Raised by the Swift layer itself for a pixel buffer format it does
    /// not read (outside the library's code range).
    static let unsupportedPixelFormatCode: Int32 = 1000

    /// Throws the calling thread's last error when `status` is not `EH_OK`.
    static func check(_ status: Int32) throws {
        guard status == EH_OK else {
            throw EdgeHideError(code: status, message: String(cString: eh_last_error()))
        }
    }
}
