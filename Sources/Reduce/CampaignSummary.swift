import FapsimStore

/// One policy of a campaign, summed over its chips.
public struct PolicySummary: Equatable, Sendable {
    public var policy: String
    public var chips: Int
    /// Chips whose final (test-set) accuracy meets the constraint.
    public var met: Int
    public var totalEpochs: Int
    public var meanAccuracy: Double
    /// Training images the policy's amounts went through, over its chips; nil
    /// when the file does not record them (campaigns of earlier versions).
    public var trainImages: Int?
    /// Images evaluated to decide the amounts while training (the adaptive
    /// policy's validation checks; 0 for budgets fixed before training).
    public var evalImages: Int?

    /// A fixed budget (`fixed-N`, `fixed-Nimg`): the baselines Reduce is
    /// measured against.
    public var isFixed: Bool { policy.hasPrefix("fixed-") }
}

/// What a policy saves against the cheapest fixed budget that meets the
/// constraint on at least as many chips.
public struct PolicySaving: Equatable, Sendable {
    public var policy: String
    /// The fixed policy compared with; nil when no fixed policy meets as many chips.
    public var against: String?
    public var policyImages: Int
    public var fixedImages: Int?
    /// 1 - policyImages / fixedImages (negative: the policy spends more).
    public var saving: Double? {
        guard let f = fixedImages, f > 0 else { return nil }
        return 1 - Double(policyImages) / Double(f)
    }
}

extension CampaignResults {
    public func rows(policy: String) -> [Row] { rows.filter { $0.policy == policy } }

    /// Per policy: chips, chips meeting the constraint, total epochs and
    /// training and evaluation images spent.
    public func summary() -> [PolicySummary] {
        policies.map { p in
            let r = rows(policy: p)
            let images = r.allSatisfy { $0.imagesSpent != nil } ? r.compactMap(\.imagesSpent).reduce(0, +) : nil
            let evals = r.allSatisfy { $0.evalImagesSpent != nil } ? r.compactMap(\.evalImagesSpent).reduce(0, +) : nil
            return PolicySummary(policy: p, chips: r.count, met: r.filter(met).count, totalEpochs: r.map(\.epochsSpent).reduce(0, +),
                                 meanAccuracy: r.map(\.finalAccuracy).reduce(0, +) / Double(r.count),
                                 trainImages: images, evalImages: evals)
        }
    }

    /// For every policy that is not fixed: the cheapest fixed policy (fewest
    /// training images) meeting the constraint on at least as many chips,
    /// and the share of its training images the policy saves. The policy's
    /// cost counts its evaluation images too, which only the adaptive policy
    /// spends while training. Empty without image counts.
    public func savings() -> [PolicySaving] {
        let s = summary()
        guard s.allSatisfy({ $0.trainImages != nil }) else { return [] }
        let fixed = s.filter(\.isFixed)
        return s.filter { !$0.isFixed }.map { p in
            let cost = p.trainImages! + (p.evalImages ?? 0)
            let best = fixed.filter { $0.met >= p.met }.min { $0.trainImages! < $1.trainImages! }
            return PolicySaving(policy: p.policy, against: best?.policy, policyImages: cost, fixedImages: best?.trainImages)
        }
    }
}
