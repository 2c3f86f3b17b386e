"""Ask glibc's malloc to keep the memory a training step frees for the next step (Linux with glibc only).

Every training step allocates and frees the same arrays again: an ``nn.LSTM`` step's gate buffers, a
convolution's patches, the gradients, from a few hundred kB to a few MB each. By default glibc serves blocks
over 128 kB with fresh pages from the kernel and hands freed memory at the top of its heap back once more
than 128 kB of it is free. It raises both thresholds by itself when it sees a big block freed, but only up to
that block's size (and twice that for the trim threshold), while a step frees several such blocks together. So
each step page-faults its buffers in again: about 1 170 faults per ``nn.LSTM`` step of the speed benchmark
(input 32, hidden 64, batch 16, 50 steps), close to half its time on the development machine.

``tune_malloc`` sets the two thresholds to the largest values glibc's own adjustment can reach: blocks under
32 MB come from the heap (``M_MMAP_THRESHOLD``), and up to 64 MB may stay free at its top before glibc
trims it (``M_TRIM_THRESHOLD``). The process may keep up to that much freed memory resident; nothing
else changes. ``import tinygrad_dl`` calls it once; set ``TINYGRAD_DL_TUNE_MALLOC=0`` before the import to
leave malloc as it is.
"""
import os

ENVIRONMENT_VARIABLE = "TINYGRAD_DL_TUNE_MALLOC"
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt's parameter numbers (malloc.h)
MMAP_THRESHOLD = 32 << 20  # glibc's DEFAULT_MMAP_THRESHOLD_MAX on 64-bit systems
TRIM_THRESHOLD = 2 * MMAP_THRESHOLD  # what glibc pairs with it
_ON, _OFF = ("", "1", "true", "yes", "on"), ("0", "false", "no", "off")
applied = False  # True once tune_malloc has set both thresholds in this process


def wanted():
    """Whether the environment lets ``import tinygrad_dl`` tune malloc (a clear error for a value it can't read)."""
    value = os.environ.get(ENVIRONMENT_VARIABLE, "").strip().lower()
    if value in _ON:
        return True
    if value in _OFF:
        return False
    raise ValueError(f"{ENVIRONMENT_VARIABLE}={os.environ[ENVIRONMENT_VARIABLE]!r}: use 0 to leave glibc's malloc "
                     "as it is, 1 (the default) to let tinygrad_dl keep freed memory for reuse")


def glibc_version():
    """``"glibc 2.36"`` when this process runs on glibc, else None."""
    try:
        return os.confstr("CS_GNU_LIBC_VERSION")
    except (AttributeError, ValueError, OSError):  # not a POSIX system, or a C library that does not know the name
        return None


def tune_malloc():
    """Set glibc's mmap and trim thresholds (see the module's docstring); True when both were set."""
    version = glibc_version()
    if not version or not version.startswith("glibc"):
        return False
    try:
        import ctypes
        mallopt = ctypes.CDLL(None).mallopt
    except (ImportError, OSError, AttributeError):  # a Python built without ctypes, or no mallopt to call
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    global applied
    applied = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) & bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    return applied
