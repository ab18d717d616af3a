import ArgumentParser

/// The `fapsim` command. Each subcommand lives in its own file in this module.
public struct Fapsim: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "fapsim",
        abstract: "Cycle-level simulator of a weight-stationary systolic array with FAP bypass, and the Reduce retraining-budget framework.",
        subcommands: [
            GemmCommand.self,
            BenchCommand.self,
            InspectCommand.self, DebugWriteCommand.self,
            EvaluateCommand.self, SimulateCommand.self,
            VectorsCommand.self,
            LotCommand.self,
            BudgetCommand.self,
            ResilienceCommand.self, ReduceCommand.self, MergeCommand.self, ReportCommand.self,
            TrainCommand.self, FatCommand.self,
            SlurmCommand.self,
            DataCommand.self,
        ]
    )

    public init() {}
}
