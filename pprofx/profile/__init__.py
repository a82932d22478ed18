"""pprofx.profile: the pprof data model and its operations, standard library only.

The bottom layer of pprofx (it imports nothing else from pprofx): ``model`` mirrors
profile.proto, ``decode``/``encode`` are our own protobuf codec, ``builder`` makes profiles
from collected stacks, ``merge``/``scale``/``delta`` combine them with pprof's rules,
``validate`` applies pprof's ``CheckValid``, and ``rawtext`` prints ``go tool pprof -raw``'s dump.
"""

from .builder import ProfileBuilder
from .copy import copy_profile, remove_label, set_label
from .decode import DEFAULT_MAX_SIZE, decode, load, wire_backend
from .delta import delta
from .encode import encode, serialize, write
from .errors import ProfileError
from .merge import check_compatible, compact, merge
from .model import Function, Label, Line, Location, Mapping, Profile, Sample, ValueType
from .rawtext import format_raw
from .scale import negate, scale, scale_n
from .validate import check_valid

__all__ = [
    "DEFAULT_MAX_SIZE",
    "Function",
    "Label",
    "Line",
    "Location",
    "Mapping",
    "Profile",
    "ProfileBuilder",
    "ProfileError",
    "Sample",
    "ValueType",
    "check_compatible",
    "check_valid",
    "compact",
    "copy_profile",
    "decode",
    "delta",
    "encode",
    "format_raw",
    "load",
    "merge",
    "negate",
    "remove_label",
    "scale",
    "scale_n",
    "serialize",
    "set_label",
    "wire_backend",
    "write",
]
