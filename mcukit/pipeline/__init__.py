"""The stages `deploy` chains, each usable alone: model -> firmware -> device session -> validated results."""
