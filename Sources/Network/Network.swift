import MaskedGEMM
