"""The tested helpers of the neural style transfer course; each module does one job (see README.md)."""

import os

# TensorFlow's C++ start-up messages (CUDA probing, CPU features) are noise in a course; keep warnings and errors.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
