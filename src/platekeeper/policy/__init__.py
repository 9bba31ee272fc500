"""Policy as pure functions and validated data: no I/O beyond reading a profile file."""
