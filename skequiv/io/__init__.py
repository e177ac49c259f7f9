"""Models and inputs from files, without running code stored in them.

:func:`load_model` reads ``torch.export`` programs (``.pt2``) and state dicts
(``.pt``, ``.pth``, ``.safetensors``) and refuses anything that needs full
unpickling; :func:`load_inputs` reads ``.npy``, ``.npz`` and ``.csv`` files
without pickle. Both back ``skequiv compare``. torch is imported when a model
is loaded, not before.
"""

from skequiv.io._errors import UnsafeFileError
from skequiv.io._inputs import load_inputs
from skequiv.io._models import LoadedModel, load_model

__all__ = ["LoadedModel", "UnsafeFileError", "load_inputs", "load_model"]
