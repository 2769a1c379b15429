"""Classical reference solvers (NumPy/SciPy). Each module is also a runnable script."""
