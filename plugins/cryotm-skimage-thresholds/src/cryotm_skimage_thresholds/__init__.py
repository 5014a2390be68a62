"""cryotm-skimage-thresholds: scikit-image's Otsu and Li thresholds as cryotm strategies."""

from .strategies import LiThreshold, OtsuThreshold, sampled_scores

__version__ = "0.1.0"
__all__ = ["OtsuThreshold", "LiThreshold", "sampled_scores", "__version__"]
