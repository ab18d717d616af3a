/// Which fapsim this is: the release number, defined here and nowhere else,
/// and the git commit baked in at build time (BuildInfoPlugin). `fapsim
/// --version` prints `description`, and every file fapsim writes records it
/// in its `fapsim_version` attribute, so a result can be traced to its code.
public enum FapsimVersion {
    /// The release number (semantic versioning).
    public static let number = "0.1.0"

    /// The full git commit the binary was built from, or "unknown" when it was
    /// built outside a git checkout.
    public static var commit: String { BuildInfo.commit }

    /// Tracked files differed from `commit` when the binary was built.
    public static var modified: Bool { BuildInfo.modified }

    /// "0.1.0 (git 1f2e3d..., modified)": what `--version` prints after "fapsim "
    /// and what the `fapsim_version` attribute holds.
    public static var description: String {
        commit == "unknown" ? "\(number) (git commit unknown)" : "\(number) (git \(commit)\(modified ? ", modified" : ""))"
    }
}
