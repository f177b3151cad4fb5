"""ImageSummaries: reconstructions and traversals to TensorBoard during training.

    summaries = TrainingSummaries(log_dir)                      # owns the run's writer
    images_cb = ImageSummaries(images, every_n_steps=500, writer=summaries.writer)
    model.fit(dataset, callbacks=[summaries, images_cb])

Tags `images/reconstructions` (originals over reconstructions) and `images/traversals` (posterior
traversals of the first image, latents sorted by KL, labelled), each one labelled RGB picture
[1, height, width, 3] per write, at the global step (model.optimizer.iterations).
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from tfdisvae.callbacks import global_step
from tfdisvae.data.ground_truth import float_images, to_float_images
from tfdisvae.viz import plots


class ImageSummaries(keras.callbacks.Callback):
    """Write labelled reconstructions and traversals as TensorBoard images every N steps.

    Args:
      images: fixed images to show, [n, H, W, C] (uint8 or float in [0, 1]); the first `num_images`
        are shown, all of them measure each latent's KL for the traversal order.
      every_n_steps: steps between writes (also written at the end of training).
      writer: a tf.summary writer (the training summaries' one, so every summary of a run goes through
        one writer); or log_dir to create one.
      data: instead of images, a data set with images(indices) and num_examples: `num_kl_images` of
        its images are drawn with numpy.random.default_rng(seed).
      every: alias of every_n_steps (the training loop's name).
      num_images: images shown in the reconstructions (and values per traversal row).
      top_k: traversal rows kept (default all latents).
      span: half-width of the traversals (prior standard deviations).
    """

    def __init__(self, images=None, every_n_steps=None, writer=None, log_dir=None, *, data=None,
                 every=None, num_images=8, num_kl_images=64, top_k=None, span=2.0, seed=0):
        super().__init__()
        every_n_steps = every_n_steps if every_n_steps is not None else every
        if every_n_steps is None or int(every_n_steps) < 1:
            raise ValueError(f"ImageSummaries: every_n_steps must be a positive integer, got "
                             f"{every_n_steps!r}")
        if (images is None) == (data is None):
            raise ValueError("ImageSummaries: give either images=[n, H, W, C] or data= (a data set "
                             "with images(indices) and num_examples)")
        if writer is None and log_dir is None:
            raise ValueError("ImageSummaries: give writer= (the run's tf.summary writer, e.g. "
                             "TrainingSummaries.writer) or log_dir=")
        if images is None:
            n = int(data.num_examples)
            rng = np.random.default_rng(seed)
            indices = np.sort(rng.choice(n, size=min(int(num_kl_images), n), replace=False))
            rng.shuffle(indices)
            images = float_images(data, indices)
        self.images = to_float_images(images)
        if len(self.images) < 2:
            raise ValueError("ImageSummaries needs at least 2 images")
        self.every = int(every_n_steps)
        self.writer = writer if writer is not None else tf.summary.create_file_writer(log_dir)
        self.num_images = min(int(num_images), len(self.images))
        self.top_k = top_k
        self.span = span
        self.written_steps = []

    def pictures(self):
        """The two pictures at the model's current state: {tag: Picture}."""
        shown = self.images[:self.num_images]
        kl = plots.latent_kl(self.model, self.images)
        return {
            "images/reconstructions": plots.reconstructions(self.model, shown),
            "images/traversals": plots.traversals(self.model, shown, kl=kl, top_k=self.top_k,
                                                  span=self.span, num_values=self.num_images),
        }

    def write(self, step):
        with self.writer.as_default(step=step):
            for tag, picture in self.pictures().items():
                tf.summary.image(tag, picture.pixels[None], step=step, max_outputs=1)
        self.writer.flush()
        self.written_steps.append(step)

    def on_train_batch_end(self, batch, logs=None):
        step = global_step(self.model)
        if step % self.every == 0 and step not in self.written_steps:
            self.write(step)

    def on_train_end(self, logs=None):
        step = global_step(self.model)
        if step not in self.written_steps:
            self.write(step)
