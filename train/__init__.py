"""genred's training side: features by the C tool genre-features, training in
PyTorch (the small CNN from scratch, a head on the pretrained musicnn),
export to the model file, evaluation through the C pipeline (doc/training.md).

The modules are run from the repository root as `python3 -m train.<module>`
(e.g. `/usr/bin/python3 -m train.evaluate --help`); tests and benchmarks
import them as `from train import reference` with the root on the path."""
