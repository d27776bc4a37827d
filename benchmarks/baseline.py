"""The baseline for the benchmarks: the TF style-transfer tutorial's published recipe, as a plain loop.

Adam (learning rate 0.02, beta_1 0.99, epsilon 0.1), the image initialised from the content, style weight
1e-2, content weight 1e4, total-variation weight 30, the tutorial's mean-squared losses, 1000 steps, pixels
clipped to [0, 1] after every step. It uses the course's feature extractor and losses, but none of the
course's optimiser code, so the two can be timed against each other on the same objective.
"""

from __future__ import annotations

import time

import tensorflow as tf

from helpers import images, losses, vgg

#: The objective both the baseline and the course's recipes minimise.
OBJECTIVE = dict(losses.TUTORIAL_WEIGHTS)
#: The baseline's optimiser settings.
ADAM = {"learning_rate": 0.02, "beta_1": 0.99, "epsilon": 1e-1}


def run(content: tf.Tensor, style: tf.Tensor, steps: int = 1000, weights="auto") -> dict:
    """Run the tutorial's loop; return {'total': [...], 'seconds': [...]} with step 0 the starting image."""
    extractor = vgg.StyleContentModel(weights=weights)
    style_targets = extractor(style)["style"]
    content_targets = extractor(content)["content"]
    image = tf.Variable(content)
    opt = tf.keras.optimizers.Adam(**ADAM)

    def objective(img):
        outputs = extractor(img)
        loss = losses.style_content_loss(
            outputs, style_targets, content_targets, OBJECTIVE["style_weight"], OBJECTIVE["content_weight"], form=OBJECTIVE["form"]
        )
        return loss + OBJECTIVE["tv_weight"] * losses.total_variation_loss(img)

    @tf.function
    def train_step(img):
        with tf.GradientTape() as tape:
            loss = objective(img)
        opt.apply_gradients([(tape.gradient(loss, img), img)])
        img.assign(images.clip_0_1(img))
        return loss

    history = {"total": [], "seconds": []}
    start = time.perf_counter()
    for _ in range(steps):
        history["total"].append(float(train_step(image)))  # the loss of the image before this step
        history["seconds"].append(time.perf_counter() - start)
    history["total"].append(float(tf.function(objective)(tf.convert_to_tensor(image))))
    history["seconds"].append(time.perf_counter() - start)
    return history
