"""Start a Dask cluster on SLURM (dask-jobqueue) and print the address for ``--scheduler``.

Run this on a login node, inside the Python environment where crisis-sim is installed (the
batch jobs start workers with the same Python, so the package and its Numba cache must be
reachable from the compute nodes, e.g. on a shared file system):

    python scripts/slurm_cluster.py --jobs 4 --cores 32 --memory 64GB --walltime 04:00:00 \\
        --queue compute --account myproject
    # prints: tcp://10.1.2.3:8786  then, in another shell on the login node:
    crisis-sim run --runs 100000000 --scheduler tcp://10.1.2.3:8786 --out big.h5
    crisis-sim sweep --param willingness=0:1 --design sobol --points 1024 --runs 10000 \\
        --scheduler tcp://10.1.2.3:8786 --out sweep.h5

Each job runs ``--cores`` single-threaded worker processes (one Dask thread each), and every
chunk sets Numba to one thread in its own task, so workers never oversubscribe a node. Results
come back to the one process that runs ``crisis-sim``, which alone writes the HDF5 file: put
that file on a disk the login node can write. Keep this script running while the run lasts;
Ctrl-C cancels the jobs.

This needs a SLURM cluster; without one, ``--dry-run`` only prints the job script it would submit.
"""

from __future__ import annotations

import argparse
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=2, help="SLURM jobs (nodes) to request")
    ap.add_argument("--cores", type=int, default=16, help="cores (= worker processes) per job")
    ap.add_argument("--memory", default="32GB", help="memory per job")
    ap.add_argument("--walltime", default="02:00:00", help="walltime per job (HH:MM:SS)")
    ap.add_argument("--queue", default=None, help="SLURM partition")
    ap.add_argument("--account", default=None, help="SLURM account to charge")
    ap.add_argument("--interface", default=None, help="network interface of the nodes, e.g. ib0")
    ap.add_argument("--dry-run", action="store_true", help="print the job script, submit nothing")
    args = ap.parse_args()

    from dask_jobqueue import SLURMCluster

    cluster = SLURMCluster(
        cores=args.cores,
        processes=args.cores,  # one single-threaded worker process per core
        memory=args.memory,
        walltime=args.walltime,
        queue=args.queue,
        account=args.account,
        interface=args.interface,
        job_script_prologue=["export NUMBA_NUM_THREADS=1", "export OMP_NUM_THREADS=1"],
    )
    if args.dry_run:
        print(cluster.job_script(), flush=True)
        cluster.close()
        return
    cluster.scale(jobs=args.jobs)
    print(cluster.scheduler_address, flush=True)
    print(f"# {args.jobs} jobs x {args.cores} workers requested; job script:", flush=True)
    print(cluster.job_script(), flush=True)
    try:
        while True:
            time.sleep(60)
    except KeyboardInterrupt:
        cluster.close()


if __name__ == "__main__":
    main()
