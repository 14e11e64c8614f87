"""formcheck: lifting video -> biomechanics -> prioritised coaching cues, on your own machine."""

__version__ = "0.1.0"
