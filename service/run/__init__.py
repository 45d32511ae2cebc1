"""Running an experiment: the engine, agent steps and the runners that execute them."""
