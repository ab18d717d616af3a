import CHDF5
import FapsimSupport

/// Turns HDF5's error stack into one readable line.
///
/// libhdf5 records a stack of (function, description) frames from the API call
/// down to where the problem was detected. The innermost description is the
/// specific one ("file signature not found", "truncated file: eof = ..."), so the
/// message keeps that, and recognises the few causes users must act on
/// differently (not an HDF5 file, a truncated file, a file lock held elsewhere).
enum HDF5ErrorStack {
    struct Frame {
        var function: String
        var description: String
        var minor: String
    }

    private final class Collector {
        var frames: [Frame] = []
    }

    /// The current thread's error stack, outermost (API) frame first; clears it.
    static func takeFrames() -> [Frame] {
        let collector = Collector()
        let walker: H5E_walk2_t = { _, desc, client in
            guard let desc, let client else { return 0 }
            let box = Unmanaged<Collector>.fromOpaque(client).takeUnretainedValue()
            let e = desc.pointee
            let function = e.func_name.map { String(cString: $0) } ?? ""
            let text = e.desc.map { String(cString: $0) } ?? ""
            var minor = ""
            var buffer = [CChar](repeating: 0, count: 256)
            var type = H5E_MINOR
            if H5Eget_msg(e.min_num, &type, &buffer, buffer.count) > 0 {
                minor = String(cString: buffer)
            }
            box.frames.append(Frame(function: function, description: text, minor: minor))
            return 0
        }
        let stack = H5Eget_current_stack()
        if stack >= 0 {
            _ = H5Ewalk2(stack, H5E_WALK_DOWNWARD, walker, Unmanaged.passUnretained(collector).toOpaque())
            _ = H5Eclose_stack(stack)
        }
        _ = H5Eclear2(fapsim_H5E_DEFAULT())
        return collector.frames
    }

    /// The innermost useful description, e.g. "file signature not found".
    static func detail(_ frames: [Frame]) -> String {
        for f in frames.reversed() where !f.description.isEmpty {
            return f.description
        }
        return frames.last?.minor ?? "unknown HDF5 error"
    }

    static func mentions(_ frames: [Frame], _ needle: String) -> Bool {
        frames.contains { $0.description.lowercased().contains(needle) || $0.minor.lowercased().contains(needle) }
    }
}

/// Builds the one-line `FapsimError`s HDF5Kit throws: `file: /object: what`.
public enum HDF5Failure {
    /// `file: /object: message` (object omitted when empty).
    public static func error(file: String, object: String?, _ message: String) -> FapsimError {
        if let object, !object.isEmpty {
            return FapsimError("\(file): \(object): \(message)")
        }
        return FapsimError("\(file): \(message)")
    }

    /// An error for a failed C call, with the cause read from HDF5's error stack.
    static func fromStack(file: String, object: String?, action: String) -> FapsimError {
        let frames = HDF5ErrorStack.takeFrames()
        return error(file: file, object: object, "\(action): \(HDF5ErrorStack.detail(frames))")
    }

    /// Errors from opening or creating a file, where the cause is most often
    /// one the user can fix and deserves plain words.
    static func fromFileOpen(file: String, writing: Bool) -> FapsimError {
        let frames = HDF5ErrorStack.takeFrames()
        let detail = HDF5ErrorStack.detail(frames)
        if HDF5ErrorStack.mentions(frames, "unable to lock") {
            return writing
                ? error(file: file, object: nil, "is open in another process (HDF5 file lock); close it there first")
                : error(file: file, object: nil, "is being written by another process (HDF5 file lock)")
        }
        if HDF5ErrorStack.mentions(frames, "file signature not found") {
            return error(file: file, object: nil, "not an HDF5 file (no HDF5 signature)")
        }
        if HDF5ErrorStack.mentions(frames, "truncated file") {
            return error(file: file, object: nil, "truncated or incomplete HDF5 file (\(detail))")
        }
        if HDF5ErrorStack.mentions(frames, "already open") {
            return error(file: file, object: nil, "cannot \(writing ? "create" : "open") HDF5 file: it is already open in this process")
        }
        return error(file: file, object: nil, "cannot \(writing ? "create" : "open") HDF5 file: \(detail)")
    }
}
