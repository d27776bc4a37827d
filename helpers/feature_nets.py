"""Feature networks other than VGG19 for Gram-matrix style transfer: the MobileNetV2 trunk of Magenta's style predictor.

Why does Gatys-style transfer use VGG19 and not a newer classifier? Notebook 03 answers with an experiment:
the same loss and optimiser on three feature extractors, trained VGG19, random He-normal VGG19, and the
MobileNetV2 that Magenta trained (inside ``arbitrary_predict.onnx``, run by ``helpers.runtime.onnx_tf``).

``MobileNetStyleContentModel`` has the interface of ``vgg.StyleContentModel``: an image [B, H, W, 3] in
[0, 1] goes in, ``{'style': {layer: Gram [B, C, C]}, 'content': {layer: features}}`` comes out, so
``optimize.transfer(..., network=MobileNetStyleContentModel())`` runs it unchanged.
"""

from __future__ import annotations

import tensorflow as tf

from helpers import losses, magenta
from helpers.runtime.onnx_tf import OnnxGraph

#: ReLU6 outputs of the MobileNetV2 trunk, one per resolution (like VGG19's conv1_1 ... conv5_1), by a readable name.
#: Each is the first activation at its stride: 1/2 (stem and block 1), 1/4, 1/8, 1/16.
MOBILENET_LAYERS = {
    "conv_stem": "Relu6__5:0",  # 32 channels, 1/2
    "block1_expand": "Relu6__10:0",  # 96 channels, 1/2
    "block3_expand": "Relu6__20:0",  # 144 channels, 1/4
    "block6_expand": "Relu6__35:0",  # 192 channels, 1/8
    "block11_expand": "Relu6__60:0",  # 576 channels, 1/16
}
#: A deep layer for content, like VGG19's block5_conv2 (1/16 of the input, 576 channels).
MOBILENET_CONTENT_LAYERS = ["block12_expand"]
MOBILENET_STYLE_LAYERS = list(MOBILENET_LAYERS)
_CONTENT_TENSORS = {"block12_expand": "Relu6__65:0"}


class MobileNetStyleContentModel:
    """Magenta's trained MobileNetV2 trunk as a style/content feature extractor with StyleContentModel's interface."""

    weights_kind = "mobilenet"

    def __init__(self, style_layers=None, content_layers=None):
        self.style_layers = list(MOBILENET_STYLE_LAYERS if style_layers is None else style_layers)
        self.content_layers = list(MOBILENET_CONTENT_LAYERS if content_layers is None else content_layers)
        tensors = {**MOBILENET_LAYERS, **_CONTENT_TENSORS}
        unknown = [n for n in self.style_layers + self.content_layers if n not in tensors]
        if unknown:
            raise ValueError(f"unknown MobileNet layer(s) {unknown}; valid names are: {', '.join(tensors)}")
        self._tensors = [tensors[n] for n in self.style_layers + self.content_layers]
        # In float (quantize=False), so that gradients flow through the activations as in VGG19.
        self.graph = OnnxGraph(magenta.PREDICT_ONNX, quantize=False, name="mobilenet_trunk")
        self.deepest_layer = (self.style_layers + self.content_layers)[-1] if self._tensors else None

    def features(self, image) -> list[tf.Tensor]:
        """The chosen activations, each [B, h, w, C] (NHWC), for an image [B, H, W, 3] in [0, 1]."""
        out = self.graph.run({self.graph.inputs[0]: tf.convert_to_tensor(image, tf.float32)}, outputs=self._tensors)
        return [tf.transpose(out[name], [0, 2, 3, 1]) for name in self._tensors]  # ONNX NCHW -> NHWC

    def __call__(self, image):
        """Image [B, H, W, 3] in [0, 1] -> {'style': {layer: Gram}, 'content': {layer: features}}."""
        feats = self.features(image) if self._tensors else []
        n = len(self.style_layers)
        return {
            "style": {name: losses.gram_matrix(f) for name, f in zip(self.style_layers, feats[:n])},
            "content": dict(zip(self.content_layers, feats[n:])),
        }
