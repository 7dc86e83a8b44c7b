"""mcukit: Keras model -> measured, bit-exact int8 deployment on a Cortex-M microcontroller."""

__version__ = "0.1.0"
