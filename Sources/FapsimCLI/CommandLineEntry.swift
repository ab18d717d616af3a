import ArgumentParser
import Foundation

extension Fapsim {
    /// Runs the command line. Every failure is one line on stderr and a non-zero
    /// exit: long runs are read in batch logs, where a usage dump or a stack trace
    /// buries the one fact that matters. Help and version still print in full.
    public static func runAsMain() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            let code = exitCode(for: error)
            if code == .success { exit(withError: error) }
            let message = self.message(for: error)
                .split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty }.joined(separator: " ")
            FileHandle.standardError.write(Data("Error: \(message)\n".utf8))
            Foundation.exit(code.rawValue == 0 ? 1 : code.rawValue)
        }
    }
}
