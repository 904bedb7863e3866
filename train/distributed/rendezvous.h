// Rendezvous: hands a small blob from rank 0 to every rank before any communicator exists. NCCL
// needs it: rank 0 creates the 128-byte ncclUniqueId (its bootstrap address and a nonce) and
// every rank must pass the same id to ncclCommInitRank. Three ways, one per kind of launch
// (docs/DISTRIBUTED.md):
//   mpi   an MPI broadcast, when an MPI launcher started the processes (Communicator::broadcast
//         of the MPI communicator; not in this file)
//   file  rank 0 writes a file on a filesystem every node shares, the others poll for it
//   tcp   rank 0 listens on MASTER_PORT, the others connect to MASTER_ADDR:MASTER_PORT
//         (torchrun's convention)
// Every failure is one line that names the file or host:port.
#pragma once
#include <string>

#include "train/distributed/launch_env.h"

namespace merino {

enum class RendezvousMethod { Mpi, File, Tcp };

struct RendezvousPlan {
  RendezvousMethod method = RendezvousMethod::Tcp;
  std::string file;    // file: where rank 0 writes the blob
  std::string job_id;  // file: names this launch; a file holding another one is stale
  std::string host;    // tcp: MASTER_ADDR
  int port = 0;        // tcp: MASTER_PORT
  double timeout_s = 300;
};

// Chooses the method for a job of more than one process. MERINO_RENDEZVOUS=mpi|file|tcp decides
// when set; otherwise `file` when MERINO_RENDEZVOUS_FILE is set, else by launcher: mpirun / PMI
// -> mpi, srun -> file, torchrun style -> tcp. The file is MERINO_RENDEZVOUS_FILE or
// RUN_DIR/.nccl-id-<job id>; the job id is MERINO_JOB_ID, else SLURM_JOB_ID.SLURM_STEP_ID
// (.rN after N requeues), else PMIX_NAMESPACE (mpirun, srun --mpi=pmix). The timeout is
// MERINO_RENDEZVOUS_TIMEOUT_S (300 s). Throws ConfigError naming what is missing or malformed.
RendezvousPlan plan_rendezvous(const LaunchEnv& env, const EnvLookup& getenv_fn, const std::string& run_dir);

// Rank 0 writes "<job_id>\n<hex of blob>\n" to `path` atomically (a temporary file renamed into
// place, creating the directory) and returns `blob`; every other rank polls until `path` holds
// `job_id`'s record and returns its blob (its own `blob` is ignored). A record of another job is
// a leftover of an earlier launch and is waited past. std::runtime_error after timeout_s.
std::string file_rendezvous(const std::string& path, const std::string& job_id, int rank,
                            const std::string& blob, double timeout_s);

// Rank 0 listens on `port` on every interface until the world - 1 other ranks have connected,
// then sends `blob` to each; the other ranks connect to host:port, retrying while rank 0 is not
// up yet, and return the blob they receive. std::runtime_error after timeout_s, or when a
// connecting process reports another world size.
std::string tcp_rendezvous(const std::string& host, int port, int rank, int world, const std::string& blob,
                           double timeout_s);

}  // namespace merino
