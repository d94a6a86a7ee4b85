package org.edgehide;

/**
 * A failed call, with the library's stable status code. Subclasses name the
 * kind of failure; {@link #status()} gives the code ({@code EH_*} in the C
 * header, the same numbers).
 */
public class EdgeHideException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final int status;

    EdgeHideException(int status, String message) {
        super(message + " (status " + status + ")");
        this.status = status;
    }

    /** The stable status code. */
    public int status() {
        return status;
    }

    /** A null argument, an argument out of range, or an unknown format. */
    public static final class InvalidArgument extends EdgeHideException {
        private static final long serialVersionUID = 1L;
        InvalidArgument(int s, String m) { super(s, m); }
    }

    /** A frame whose planes disagree with its size, format or strides. */
    public static final class InvalidFrame extends EdgeHideException {
        private static final long serialVersionUID = 1L;
        InvalidFrame(int s, String m) { super(s, m); }
    }

    /** A malformed sidecar, a bad corpus, a bad DisguisedNets key file, or an unreadable file. */
    public static final class InvalidModel extends EdgeHideException {
        private static final long serialVersionUID = 1L;
        InvalidModel(int s, String m) { super(s, m); }
    }

    /** The server could not be reached or did not answer in time. */
    public static final class Transport extends EdgeHideException {
        private static final long serialVersionUID = 1L;
        Transport(int s, String m) { super(s, m); }
    }

    /** The server answered with an error, or not by the protocol. */
    public static final class Server extends EdgeHideException {
        private static final long serialVersionUID = 1L;
        Server(int s, String m) { super(s, m); }
    }

    /** The server's model expects another encryption; nothing was sent. */
    public static final class ServerMismatch extends EdgeHideException {
        private static final long serialVersionUID = 1L;
        ServerMismatch(int s, String m) { super(s, m); }
    }

    /** A handle used after close() (or never opened). */
    public static final class ClosedHandle extends EdgeHideException {
        private static final long serialVersionUID = 1L;
        ClosedHandle(int s, String m) { super(s, m); }
    }

    /** The GPU was required and is missing, or failed. */
    public static final class Gpu extends EdgeHideException {
        private static final long serialVersionUID = 1L;
        Gpu(int s, String m) { super(s, m); }
    }

    static EdgeHideException of(int status, String message) {
        switch (status) {
            case 1: case 2: case 4: case 5: return new InvalidArgument(status, message);
            case 3: return new InvalidFrame(status, message);
            case 6: case 7: case 8: case 18: return new InvalidModel(status, message);
            case 9: case 10: return new Gpu(status, message);
            case 12: return new Transport(status, message);
            case 13: case 15: return new Server(status, message);
            case 14: return new ServerMismatch(status, message);
            case 17: return new ClosedHandle(status, message);
            default: return new EdgeHideException(status, message);
        }
    }
}
