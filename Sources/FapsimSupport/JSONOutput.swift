import Foundation

/// Stable, sorted-key JSON for `--json` outputs so scripts and tests can diff them.
public enum JSONOutput {
    public static func string(_ object: Any) -> String {
        guard JSONSerialization.isValidJSONObject(object),
              let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]),
              let s = String(data: data, encoding: .utf8)
        else { return "{}" }
        return s
    }

    public static func print(_ object: Any) {
        Swift.print(string(object))
    }
}
