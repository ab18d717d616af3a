@_exported import FapsimTestSupport
