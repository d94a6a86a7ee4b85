import CoreVideo
import EdgeHideFFI

/// What a video frame got under the scene budget.
public enum VideoAnswer: Equatable {
    /// The frame was encrypted and classified.
    case fresh(Classification)
    /// Its scene had spent its budget: nothing was sent; its last answer.
    case reused(Classification)
    /// Its scene had spent its budget and has no answer yet.
    case withheld
}

/// A camera stream under the scene budget: near-identical frames count
/// against their scene, and past `budget` encryptions per `window` the last
/// answer is reused instead of sending the same scene again (every extra
/// encryption of a frame leaks more).
public final class VideoSession {
    let handle: OpaquePointer

    /// At most `budget` encryptions per scene per `windowSeconds` (0 and 0:
    /// one per hour).
    public init(budget: UInt32 = 0, windowSeconds: UInt32 = 0) throws {
        var out: OpaquePointer?
        try EdgeHideError.check(eh_video_session_new(budget, windowSeconds, &out))
        handle = out!
    }

    deinit {
        eh_video_session_free(handle)
    }

    /// Classifies `buffer` through `client`, or reuses its scene's answer.
    public func classify(
        _ buffer: CVPixelBuffer, client: Client, orientation: Orientation = .up
    ) throws -> VideoAnswer {
        var kind: UInt32 = 0
        var answer = EhClassification()
        try withFrame(buffer, orientation) { frame in
            try EdgeHideError.check(eh_video_classify(handle, client.handle, frame, &kind, &answer))
        }
        switch Int32(kind) {
        case Int32(EH_ANSWER_FRESH): return .fresh(Classification(answer))
        case Int32(EH_ANSWER_REUSED): return .reused(Classification(answer))
        default: return .withheld
        }
    }
}
