"""A hint to the CPU to start loading an array element that a compiled pass will need soon.

The cohort passes and the combat kernel visit a day's replications in order, but sparsely: a
few thousand rows spread over a chunk's tens of megabytes of per-replication records. Each
visit then waits on memory, one row after another (~150 ns per claim in :func:`cohort.enter`,
against ~30 ns when the rows are dense). Naming the rows of the visit a few steps ahead lets
those loads overlap. A prefetch never faults and changes no value: results are unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

# How many visits ahead to ask for: far enough for a load (~100 ns) to arrive in time, near
# enough for the lines to be still in cache when used.
AHEAD = 8


@intrinsic
def _prefetch(typingctx: Any, arr: Any, i: Any, j: Any) -> Any:
    sig = types.void(arr, i, j)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        aryty, ity, jty = signature.args
        ary = context.make_array(aryty)(context, builder, args[0])
        strides = cgutils.unpack_tuple(builder, ary.strides, aryty.ndim)
        offset = builder.mul(context.cast(builder, args[1], ity, types.intp), strides[0])
        if aryty.ndim > 1:
            col = context.cast(builder, args[2], jty, types.intp)
            offset = builder.add(offset, builder.mul(col, strides[1]))
        byte = ir.IntType(8).as_pointer()
        address = builder.gep(builder.bitcast(ary.data, byte), [offset])
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [byte, i32, i32, i32])
        # The typed-pointer name (LLVM before 17); newer LLVM renames it for opaque pointers.
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0i8")
        # write intent (the passes update these rows), keep in all cache levels, data cache
        builder.call(fn, [address, ir.Constant(i32, 1), ir.Constant(i32, 3), ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return sig, codegen


# Start loading ``arr[i, j]`` (``arr[i]`` when ``arr`` has one dimension; ``j`` is then ignored).
# Callable from compiled code only.
prefetch = cast(Callable[[Any, int, int], None], _prefetch)
