import CoreVideo
import XCTest

@testable import EdgeHide

/// The sidecar of the bundled Fashion-MNIST model (28x28 grey, k = 4).
let sidecar = """
{"name":"fashion-mnist-k4","input":{"channels":1,"height":28,"width":28},"mean":[0.286],"std":[0.353],\
"labels":["T-shirt/top","Trouser","Pullover","Dress","Coat","Sandal","Shirt","Sneaker","Bag","Ankle boot"],\
"encryption":{"k":4,"upper":0.65,"min_private_weight":null,"max_private_weight":null,"min_zoom":1.0,\
"max_zoom":8.0,"max_shift":2,"flip":true},\
"pool_fingerprint":"sha256:13a145d37035fcbd7d98bc346b05922a26c58576f4ab3bbb2d711f71fc759076"}
"""

/// A 640x480 camera frame in `format`, filled with a gradient.
func pixelBuffer(_ format: OSType) -> CVPixelBuffer {
    var buffer: CVPixelBuffer?
    CVPixelBufferCreate(kCFAllocatorDefault, 640, 480, format, nil, &buffer)
    let b = buffer!
    CVPixelBufferLockBaseAddress(b, [])
    for plane in 0..<max(1, CVPixelBufferGetPlaneCount(b)) {
        let planar = CVPixelBufferGetPlaneCount(b) > 0
        let base = planar ? CVPixelBufferGetBaseAddressOfPlane(b, plane)! : CVPixelBufferGetBaseAddress(b)!
        let rows = planar ? CVPixelBufferGetHeightOfPlane(b, plane) : CVPixelBufferGetHeight(b)
        let rowBytes = planar ? CVPixelBufferGetBytesPerRowOfPlane(b, plane) : CVPixelBufferGetBytesPerRow(b)
        let bytes = base.assumingMemoryBound(to: UInt8.self)
        for i in 0..<(rows * rowBytes) { bytes[i] = plane == 0 ? UInt8(i % 251) : 128 }
    }
    CVPixelBufferUnlockBaseAddress(b, [])
    return b
}

final class EdgeHideTests: XCTestCase {
    func testEncryptsNV12AndBGRAInPlace() throws {
        let encryptor = try Encryptor(sidecarJSON: sidecar, backend: .cpu)
        XCTAssertEqual(encryptor.backend, "cpu")
        XCTAssertNil(encryptor.fallbackReason)
        for format in [
            kCVPixelFormatType_420YpCbCr8BiPlanarVideoRange,
            kCVPixelFormatType_420YpCbCr8BiPlanarFullRange,
            kCVPixelFormatType_32BGRA,
        ] {
            let e = try encryptor.encrypt(pixelBuffer(format), orientation: Orientation(rotationDegrees: 90))
            XCTAssertEqual(e.count, 28 * 28)
            XCTAssertTrue(e.allSatisfy { $0.isFinite })
            XCTAssertTrue(e.contains { $0 < 0 } && e.contains { $0 > 0 })
        }
    }

    func testBadInputThrowsTypedErrors() {
        XCTAssertThrowsError(try Encryptor(sidecarJSON: "{not json")) { error in
            XCTAssertEqual((error as? EdgeHideError)?.kind, .invalidSpec)
        }
        XCTAssertThrowsError(try Encryptor(sidecarJSON: sidecar, poolPath: "/nonexistent.ehpool")) { error in
            XCTAssertEqual((error as? EdgeHideError)?.kind, .io)
        }
        let encryptor = try? Encryptor(sidecarJSON: sidecar, backend: .cpu)
        XCTAssertThrowsError(try encryptor!.encrypt(pixelBuffer(kCVPixelFormatType_32ARGB))) { error in
            XCTAssertEqual((error as? EdgeHideError)?.kind, .unsupportedPixelFormat)
        }
        XCTAssertThrowsError(
            try encryptor!.encrypt(pixelBuffer(kCVPixelFormatType_32BGRA), orientation: Orientation(rotationDegrees: 45))
        ) { error in
            XCTAssertEqual((error as? EdgeHideError)?.kind, .invalidArgument)
        }
    }

    /// A DisguisedNets model opens with its key file (EDGEHIDE_TEST_DN_SIDECAR
    /// and EDGEHIDE_TEST_DN_KEY: the bundled fashion-mnist-dn-b4 files); with
    /// no noise its encryption of a frame is the same every time.
    func testKeyedDisguisedNetsEncryptor() throws {
        let env = ProcessInfo.processInfo.environment
        guard let sidecarPath = env["EDGEHIDE_TEST_DN_SIDECAR"], let keyPath = env["EDGEHIDE_TEST_DN_KEY"] else {
            throw XCTSkip("set EDGEHIDE_TEST_DN_SIDECAR and EDGEHIDE_TEST_DN_KEY")
        }
        let json = try String(contentsOfFile: sidecarPath, encoding: .utf8)
        let encryptor = try Encryptor(sidecarJSON: json, keyPath: keyPath, backend: .cpu)
        let frame = pixelBuffer(kCVPixelFormatType_420YpCbCr8BiPlanarVideoRange)
        XCTAssertEqual(try encryptor.encrypt(frame), try encryptor.encrypt(frame))
        XCTAssertThrowsError(try Encryptor(sidecarJSON: json)) { error in
            XCTAssertEqual((error as? EdgeHideError)?.kind, .invalidSpec)
        }
        XCTAssertThrowsError(try Encryptor(sidecarJSON: json, keyPath: sidecarPath)) { error in
            XCTAssertEqual((error as? EdgeHideError)?.kind, .invalidKey)
        }
        XCTAssertThrowsError(try Encryptor(sidecarJSON: sidecar, keyPath: keyPath)) { error in
            XCTAssertEqual((error as? EdgeHideError)?.kind, .invalidSpec)
        }
    }

    /// Against a running `edgehide serve` (EDGEHIDE_TEST_SERVER=http://host:port).
    func testClassifiesAgainstAServer() throws {
        guard let url = ProcessInfo.processInfo.environment["EDGEHIDE_TEST_SERVER"].flatMap(URL.init(string:)) else {
            throw XCTSkip("set EDGEHIDE_TEST_SERVER to a running edgehide serve")
        }
        let encryptor = try Encryptor(sidecarJSON: sidecar)
        XCTAssertThrowsError(try Client(url: URL(string: "http://127.0.0.1:9")!, model: "fashion-mnist-k4", encryptor: encryptor)) { error in
            XCTAssertEqual((error as? EdgeHideError)?.kind, .transport)
        }
        let client = try Client(url: url, model: "fashion-mnist-k4", encryptor: encryptor, topK: 3)
        let answer = try client.classify(pixelBuffer(kCVPixelFormatType_420YpCbCr8BiPlanarVideoRange))
        XCTAssertEqual(answer.top.count, 3)
        XCTAssertEqual(answer.top.first?.index, answer.index)
        XCTAssertFalse(answer.label.isEmpty)
        let session = try VideoSession(budget: 1, windowSeconds: 3600)
        let frame = pixelBuffer(kCVPixelFormatType_420YpCbCr8BiPlanarFullRange)
        guard case .fresh = try session.classify(frame, client: client) else { return XCTFail("first frame not sent") }
        guard case .reused = try session.classify(frame, client: client) else { return XCTFail("still scene sent again") }
    }
}
