"""Numba kernels of the analysis core, one module per part.

Each kernel takes contiguous float64 arrays and scalars, writes into preallocated outputs and
holds no Python objects. Settings are arguments, never globals, because cached machine code
freezes global values; the module constants are parts of the method, fixed in the source.
Slow, obviously-correct twins of the kernels live in ``tests/naive.py``; ``vbt.kernels.api``
holds the checked entry points (validate, allocate, call) for code outside the live path.

Modules (each imports only those above it)
-------
jit      the ``njit`` every kernel is decorated with: numba's, or the native module's build
common   gravity and the typed flags passed between kernels
order    search_left/right, median_of, rank_order: small loops instead of numba's generic numpy
stream   resample_stream/flush (monotone cubic onto a uniform grid), detect_stream (turning points
         with hysteresis: rep candidates and stillness marks), resumable
filters  butter_lowpass (2nd-order Butterworth), filtfilt (zero-phase biquad, padded ends),
         peak_velocity_adaptive (peak velocity at the lowest cut-off the data agree with),
         propulsive_acceleration (the acceleration whose -g crossing ends the propulsive phase)
turning  fit_turning_point(_near, _auto), refit_two_term: a turning point as two power-law branches
         either side of a hold
phase    fit_phase_lm: a whole concentric phase as one Beta-shaped velocity profile (or one with a
         body factor exp(c s (1 - s))), beta_from_shape
flight   curvature, ballistic_from, flight_apex, takeoff_fit: a jump's flight, apex and take-off
rep      analyze_rep (boundaries, velocities, ROM, durations, force and power of one rep), its end
         checks ends_consistent and final_rise_start

numba's on-disk cache keys a kernel by its own file only: a caller in ``rep.py`` keeps the machine
code of the ``turning.py`` kernels it was compiled with. So before any kernel module loads, the
sources of the whole package are hashed and compared with a stamp kept beside numba's cache; on a
difference the package's cache files are deleted (``vbt.compile_cache.refresh_kernel_cache``).
"""

import os as _os

from vbt.compile_cache import refresh_kernel_cache as _refresh_kernel_cache

_refresh_kernel_cache(_os.path.dirname(_os.path.abspath(__file__)))

# Where this machine has built the native module of these sources (vbt.native), every kernel
# below comes from it and numba is not imported; otherwise numba's JIT.
from vbt import native as _native
from . import jit as _jit

_jit.NATIVE = _native.load()

# The names the rest of the project uses, as ``from vbt import kernels as K; K.<name>``; the
# method's constants stay in their modules (``K.phase.SHAPE_TOL``).
from .common import G
from .order import median_of, rank_order, search_left, search_right
from .stream import (
    DETECT_STATE_SIZE, DS_BOT, DS_BOT_I, DS_EMITTED, DS_EXT, DS_EXT_I, DS_IMAX, DS_IMAX_I, DS_IMIN,
    DS_IMIN_I, DS_MODE, DS_MOVE_ANCH, DS_MOVE_I, DS_N, DS_PREV_TOP_I, DS_PREV_TOP_X, DS_STILL_SENT,
    DS_REOPENED, DS_UP_I, EV_REP, EV_REVISE, EV_STILL, EVENT_WIDTH, MODE_DOWN, MODE_INIT, MODE_UP,
    RESAMPLE_STATE_SIZE, RS_DT,
    RS_K, RS_MB, RS_N, RS_ORIGIN, RS_T, RS_TB, RS_X, RS_XB, detect_init, detect_stream, pending_rep,
    resample_flush, resample_stream,
)
from .filters import butter_lowpass, cutoff_of, filtfilt, peak_velocity_adaptive, velocity_noise_gain
from .turning import (
    fit_turning_point, fit_turning_point_auto, fit_turning_point_near, refit_two_term,
)
from .phase import beta_from_shape, fit_phase_lm, shape_integral_table
from .flight import ballistic_from, curvature, flight_apex, takeoff_fit
from .rep import (
    REP_RESULT, REP_SETTINGS, analyze_rep, ends_consistent, final_rise_start, rep_result, rep_settings,
)
from . import api, common, filters, flight, order, phase, rep, stream, turning
