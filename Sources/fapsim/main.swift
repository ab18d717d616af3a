import FapsimCLI

Fapsim.runAsMain()
