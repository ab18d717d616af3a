import HDF5Kit
