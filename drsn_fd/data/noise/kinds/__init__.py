"""The noise kinds, one module each; importing them registers them.

Each module imports torch inside its draw function, so that the registry is read (by
`validate.py`) before torch is imported.
"""

from drsn_fd.data.noise.kinds import gaussian, impulsive, laplacian, pink, student_t  # noqa: F401  (registers)
