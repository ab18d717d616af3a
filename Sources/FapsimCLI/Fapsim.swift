import ArgumentParser
import FapsimSupport

/// The `fapsim` command. Each subcommand lives in its own file in this module.
public struct Fapsim: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "fapsim",
        abstract: "Cycle-level simulator of a weight-stationary systolic array with FAP bypass, and the Reduce retraining-budget framework.",
        // The same string every written file keeps in its fapsim_version attribute.
        version: "fapsim \(FapsimVersion.description)",
        subcommands: [
            GemmCommand.self,
            BenchCommand.self,
            InspectCommand.self,
            EvaluateCommand.self, SimulateCommand.self,
            QuantizeCommand.self, StuckAtCurveCommand.self,
            VectorsCommand.self,
            FamCommand.self, MitigateCommand.self,
            LotCommand.self,
            BudgetCommand.self,
            ResilienceCommand.self, ReduceCommand.self, MergeCommand.self, ReportCommand.self,
            CampaignCommand.self,
            TrainCommand.self, FatCommand.self,
            SlurmCommand.self,
            DataCommand.self,
        ]
    )

    public init() {}
}
