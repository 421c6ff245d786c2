"""What a run is made of: the config, the data sets, the networks, the optimizers' update rules, the device, and
the record of a finished run. Registries here define every allowed name."""
