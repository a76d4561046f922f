"""What every kernel module shares: gravity and the typed flags passed between kernels."""

import numpy as np

G = 9.81

# Flags and small counts passed between kernels are typed values, never bare literals: numba
# compiles a kernel once per literal argument it is called with (`True` and `False` are two
# compilations of everything below the call), which tripled the first run's compile time.
YES = np.bool_(True)
NO = np.bool_(False)
