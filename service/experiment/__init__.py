"""What a run is asked to do: the spec, its resolved experiment, seeds, corpus order, settings."""
