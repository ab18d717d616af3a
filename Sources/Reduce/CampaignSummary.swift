import FapsimStore

extension CampaignResults {
    public func rows(policy: String) -> [Row] { rows.filter { $0.policy == policy } }

    /// Per policy: chips, chips meeting the constraint, total epochs spent.
    public func summary() -> [(policy: String, chips: Int, met: Int, totalEpochs: Int, meanAccuracy: Double)] {
        policies.map { p in
            let r = rows(policy: p)
            return (p, r.count, r.filter(met).count, r.map(\.epochsSpent).reduce(0, +),
                    r.map(\.finalAccuracy).reduce(0, +) / Double(r.count))
        }
    }
}
