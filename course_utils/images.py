"""Images that ship with installed packages (no download at run time) and synthetic ones."""

from __future__ import annotations

import numpy as np

from ._checks import check_bool, check_int, check_optional


def sample_photo(size: int | None = 256, *, gray: bool = True) -> np.ndarray:
    """Grace Hopper's portrait from matplotlib's bundled sample data, as floats in [0, 1].

    ``size`` crops the central square of the 600x512 photograph and resizes it to ``size x size``
    with Pillow's Lanczos filter (deterministic); ``None`` keeps the full 600x512 picture.
    ``gray=True`` returns (H, W) luminance (ITU-R 601), otherwise (H, W, 3) RGB.
    """
    import matplotlib.cbook as cbook
    from PIL import Image

    size = check_optional(check_int, "size", size, 8, 4096)
    gray = check_bool("gray", gray)
    with cbook.get_sample_data("grace_hopper.jpg") as handle:
        image = Image.open(handle)
        image.load()
    if gray:
        image = image.convert("L")
    if size is not None:
        width, height = image.size
        side = min(width, height)
        left, top = (width - side) // 2, (height - side) // 2
        image = image.crop((left, top, left + side, top + side)).resize((size, size), Image.Resampling.LANCZOS)
    return np.asarray(image, dtype=np.float64) / 255.0
