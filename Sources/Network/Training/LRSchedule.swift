import Foundation

/// Learning-rate schedules as pure functions of (step, total steps), so a run
/// resumed from a checkpoint needs only its step counter to continue exactly.
/// `step` counts optimizer steps from 0; `totalSteps` is the number of steps of
/// the whole run (epochs x batches per epoch).
public enum LRSchedule: Sendable, Equatable {
    /// PyTorch `OneCycleLR` (anneal_strategy 'cos', three_phase False): from
    /// maxLR / divFactor up to maxLR over the first pctStart of the steps, then
    /// down to maxLR / (divFactor * finalDivFactor) at the last step.
    case oneCycle(maxLR: Double, pctStart: Double = 0.3, divFactor: Double = 25, finalDivFactor: Double = 1e4)
    /// PyTorch `CosineAnnealingLR` with T_max = totalSteps: baseLR at step 0,
    /// minLR at step totalSteps.
    case cosine(baseLR: Double, minLR: Double = 0)
    /// Step decay: baseLR times gamma for every milestone (a fraction of the
    /// run, e.g. 0.5 and 0.75) already reached.
    case step(baseLR: Double, milestones: [Double] = [0.5, 0.75], gamma: Double = 0.1)
    /// The same rate at every step. FAT's default: the first e epochs of an
    /// E-epoch run are then exactly an e-epoch run (same seed), so the epochs a
    /// resilience curve says a chip needs are the epochs a budgeted run trains.
    case constant(lr: Double)

    public func rate(step: Int, totalSteps: Int) -> Double {
        precondition(totalSteps > 0 && step >= 0, "schedule needs step >= 0 and totalSteps > 0")
        let t = Double(step)
        switch self {
        case let .oneCycle(maxLR, pctStart, divFactor, finalDivFactor):
            let initial = maxLR / divFactor
            let minLR = initial / finalDivFactor
            // PyTorch's phase boundaries: warm-up ends at step pct * total - 1, annealing at total - 1.
            let warmEnd = pctStart * Double(totalSteps) - 1
            let end = Double(totalSteps - 1)
            if t <= warmEnd {
                return Self.cosineAnneal(from: initial, to: maxLR, pct: warmEnd > 0 ? t / warmEnd : 1)
            }
            let span = end - warmEnd
            return Self.cosineAnneal(from: maxLR, to: minLR, pct: span > 0 ? (t - warmEnd) / span : 1)
        case let .cosine(baseLR, minLR):
            let pct = min(t, Double(totalSteps)) / Double(totalSteps)
            return minLR + (baseLR - minLR) * (1 + cos(Double.pi * pct)) / 2
        case let .constant(lr):
            return lr
        case let .step(baseLR, milestones, gamma):
            let reached = milestones.filter { t >= ($0 * Double(totalSteps)).rounded(.down) }.count
            return baseLR * pow(gamma, Double(reached))
        }
    }

    /// Cosine interpolation from `start` (pct 0) to `end` (pct 1), as PyTorch's `_annealing_cos`.
    static func cosineAnneal(from start: Double, to end: Double, pct: Double) -> Double {
        end + (start - end) / 2 * (cos(Double.pi * pct) + 1)
    }
}

extension LRSchedule {
    /// Names accepted by the CLI's `--schedule`.
    public static let names = ["onecycle", "cosine", "step", "constant"]

    /// The schedule called `name` with peak / base rate `lr`.
    public static func named(_ name: String, lr: Double) -> LRSchedule? {
        switch name {
        case "onecycle": return .oneCycle(maxLR: lr)
        case "cosine": return .cosine(baseLR: lr)
        case "step": return .step(baseLR: lr)
        case "constant": return .constant(lr: lr)
        default: return nil
        }
    }
}
