"""Machinery behind the offline models, not course material: you need not read it to follow the course.

``onnx_tf`` runs the ONNX graphs that ship with the course's packages (Magenta's arbitrary-stylisation networks, the
26-style network of notebook 05) with ordinary TensorFlow operations, so that they run offline, at any image size,
in the same process as everything else.
"""
