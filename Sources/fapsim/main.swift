import FapsimCLI

Fapsim.main()
