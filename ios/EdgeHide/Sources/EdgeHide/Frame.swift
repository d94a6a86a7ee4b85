import CoreVideo
import EdgeHideFFI

/// How far a camera frame must be turned clockwise to be upright (from the
/// capture connection's video rotation angle), and whether to mirror it.
public struct Orientation: Equatable {
    /// Degrees clockwise: 0, 90, 180 or 270.
    public var rotationDegrees: UInt32
    /// Mirror left and right after rotating (the front camera).
    public var mirrored: Bool

    public init(rotationDegrees: UInt32 = 0, mirrored: Bool = false) {
        self.rotationDegrees = rotationDegrees
        self.mirrored = mirrored
    }

    public static let up = Orientation()
}

/// Calls `body` with an `EhFrame` describing `buffer`'s planes in place:
/// the base address is locked read-only for the call and nothing is copied.
/// Reads `420v`, `420f` (NV12) and `BGRA`.
func withFrame<R>(
    _ buffer: CVPixelBuffer,
    _ orientation: Orientation,
    _ body: (UnsafePointer<EhFrame>) throws -> R
) throws -> R {
    CVPixelBufferLockBaseAddress(buffer, .readOnly)
    defer { CVPixelBufferUnlockBaseAddress(buffer, .readOnly) }
    let width = UInt32(CVPixelBufferGetWidth(buffer))
    let height = UInt32(CVPixelBufferGetHeight(buffer))
    let type = CVPixelBufferGetPixelFormatType(buffer)
    let none = EhPlane(data: nil, len: 0, row_stride: 0, pixel_stride: 1)
    var frame = EhFrame(
        format: 0, width: width, height: height, planes: (none, none, none),
        rotation_degrees: orientation.rotationDegrees, mirror: orientation.mirrored ? 1 : 0,
        full_range: 0, matrix: 0)
    func plane(_ index: Int, pixelStride: Int) -> EhPlane {
        let base = CVPixelBufferGetBaseAddressOfPlane(buffer, index)
        let rowBytes = CVPixelBufferGetBytesPerRowOfPlane(buffer, index)
        let rows = CVPixelBufferGetHeightOfPlane(buffer, index)
        return EhPlane(
            data: base?.assumingMemoryBound(to: UInt8.self), len: base == nil ? 0 : rowBytes * rows,
            row_stride: rowBytes, pixel_stride: pixelStride)
    }
    switch type {
    case kCVPixelFormatType_420YpCbCr8BiPlanarVideoRange, kCVPixelFormatType_420YpCbCr8BiPlanarFullRange:
        frame.format = UInt32(EH_FORMAT_NV12)
        frame.full_range = type == kCVPixelFormatType_420YpCbCr8BiPlanarFullRange ? 1 : 0
        frame.planes = (plane(0, pixelStride: 1), plane(1, pixelStride: 2), none)
    case kCVPixelFormatType_32BGRA:
        let base = CVPixelBufferGetBaseAddress(buffer)
        let rowBytes = CVPixelBufferGetBytesPerRow(buffer)
        frame.format = UInt32(EH_FORMAT_BGRA8)
        frame.planes = (
            EhPlane(
                data: base?.assumingMemoryBound(to: UInt8.self),
                len: base == nil ? 0 : rowBytes * Int(height), row_stride: rowBytes, pixel_stride: 4),
            none, none
        )
    default:
        throw EdgeHideError(
            code: EdgeHideError.unsupportedPixelFormatCode,
            message: "pixel format \(type) is not 420v, 420f or BGRA")
    }
    return try withUnsafePointer(to: &frame) { try body($0) }
}
