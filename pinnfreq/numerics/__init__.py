"""Classical numerics the library itself uses (NumPy/SciPy): a batched ETDRK4 integrator, Fourier
pseudo-spectral solvers for periodic 1-D problems (Burgers, Kuramoto-Sivashinsky, Allen-Cahn, KdV),
the 2-D Navier-Stokes vorticity solver, random initial conditions and the trajectory generators behind
``pinnfreq data generate``. The scripts in the repository's ``solvers/`` build ``data/`` from these."""
