/// Which fapsim this is: the release number, defined here and nowhere else,
/// and the git commit the `fapsim` executable was built from. `fapsim
/// --version` prints `description`, and every file fapsim writes records it in
/// its `fapsim_version` attribute, so a result can be traced to its code.
///
/// The commit is baked into the executable (BuildInfoPlugin) and recorded here
/// by its main.swift before anything runs; code linked into another program
/// (the test bundles) reports the commit as unknown.
public enum FapsimVersion {
    /// The release number (semantic versioning).
    public static let number = "0.1.0"

    // Written once by the executable's first statement, before any thread starts.
    nonisolated(unsafe) private static var buildCommit = "unknown"
    nonisolated(unsafe) private static var buildModified = false

    /// Called by the `fapsim` executable at start-up with what the build recorded.
    public static func recordBuild(commit: String, modified: Bool) {
        buildCommit = commit.isEmpty ? "unknown" : commit
        buildModified = modified
    }

    /// The full git commit the executable was built from, or "unknown" (built
    /// outside a git checkout, or not running as the `fapsim` executable).
    public static var commit: String { buildCommit }

    /// The sources differed from `commit` when the executable was built.
    public static var modified: Bool { buildModified }

    /// "0.1.0 (git 1f2e3d..., modified)": what `--version` prints after "fapsim "
    /// and what the `fapsim_version` attribute holds.
    public static var description: String {
        commit == "unknown" ? "\(number) (git commit unknown)" : "\(number) (git \(commit)\(modified ? ", modified" : ""))"
    }
}
