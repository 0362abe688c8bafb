/* A fake libnccl.so.2 for tests: single-process semantics (every rank is taken to pass what this one
 * passes: a collective copies its input to its output, allgather replicates it into every block,
 * reduce-scatter keeps this rank's block), so the dlopen path, argument passing and error reporting of
 * the real backend run without a GPU.
 * JOULE_FAKE_NCCL_ERROR=N makes every call after init return N.
 * JOULE_FAKE_NCCL_ASYNC_ERROR=N makes ncclCommGetAsyncError report N once a collective was issued.
 * JOULE_FAKE_NCCL_RECORD=FILE appends one line per call (unique ids, ranks, counts, dtypes, ops, roots,
 * peers, streams, injected errors) so tests can check what every rank passed. */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef int ncclResult_t;
typedef struct { char internal[128]; } ncclUniqueId;
typedef struct FakeComm { int nranks, rank, issued; } *ncclComm_t;
typedef void* cudaStream_t;

static void record(const char* format, ...) {
  const char* path = getenv("JOULE_FAKE_NCCL_RECORD");
  if (!path) return;
  char line[512];
  va_list args;
  va_start(args, format);
  int n = vsnprintf(line, sizeof line - 1, format, args);
  va_end(args);
  if (n < 0) return;
  if (n > (int)sizeof line - 2) n = sizeof line - 2;
  line[n++] = '\n';
  /* One write with O_APPEND: lines from several ranks do not interleave. */
  int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600);
  if (fd < 0) return;
  if (write(fd, line, (size_t)n) < 0) { /* a test will notice the missing line */ }
  close(fd);
}

static size_t dtype_size(int dtype) {
  static const size_t sizes[] = {1, 1, 4, 4, 8, 8, 2, 4, 8, 2};
  return dtype >= 0 && dtype < 10 ? sizes[dtype] : 0;
}

static ncclResult_t injected_error(void) {
  const char* value = getenv("JOULE_FAKE_NCCL_ERROR");
  return value ? atoi(value) : 0;
}

ncclResult_t ncclGetVersion(int* version) {
  *version = 22105;
  return 0;
}

const char* ncclGetErrorString(ncclResult_t code) {
  switch (code) {
    case 0: return "no error";
    case 1: return "unhandled cuda error";
    case 2: return "unhandled system error";
    case 3: return "internal error";
    case 4: return "invalid argument";
    case 5: return "invalid usage";
    case 6: return "remote process exited or there was a network error";
    default: return "unknown result code";
  }
}

ncclResult_t ncclGetUniqueId(ncclUniqueId* id) {
  static int calls;
  memset(id, 0, sizeof *id);
  /* Different on every call, so a test can tell that every rank got rank 0's id. */
  snprintf(id->internal, sizeof id->internal, "fake-nccl-id-%d-%d", (int)getpid(), ++calls);
  record("call=ncclGetUniqueId id=%s", id->internal);
  return 0;
}

ncclResult_t ncclCommInitRank(ncclComm_t* comm, int nranks, ncclUniqueId id, int rank) {
  record("call=ncclCommInitRank rank=%d nranks=%d id=%.64s", rank, nranks, id.internal);
  if (rank < 0 || rank >= nranks) return 4;
  *comm = calloc(1, sizeof **comm);
  (*comm)->nranks = nranks;
  (*comm)->rank = rank;
  return 0;
}

ncclResult_t ncclCommDestroy(ncclComm_t comm) {
  record("call=ncclCommDestroy rank=%d", comm->rank);
  free(comm);
  return 0;
}

ncclResult_t ncclCommAbort(ncclComm_t comm) {
  record("call=ncclCommAbort rank=%d", comm->rank);
  free(comm);
  return 0;
}

ncclResult_t ncclCommGetAsyncError(ncclComm_t comm, ncclResult_t* error) {
  const char* async = getenv("JOULE_FAKE_NCCL_ASYNC_ERROR");
  *error = injected_error();
  if (*error == 0 && async && comm->issued > 0) *error = atoi(async);
  if (*error) record("call=ncclCommGetAsyncError rank=%d error=%d", comm->rank, *error);
  return 0;
}

static ncclResult_t issue(const char* call, ncclComm_t comm, size_t count, int dtype, int op, int root, cudaStream_t stream) {
  ncclResult_t error = injected_error();
  comm->issued++;
  record("call=%s rank=%d nranks=%d count=%zu dtype=%d op=%d root=%d stream=%p error=%d", call, comm->rank, comm->nranks, count,
         dtype, op, root, stream, error);
  return error;
}

static ncclResult_t copy(const void* in, void* out, size_t count, int dtype) {
  ncclResult_t error = injected_error();
  if (error) return error;
  if (dtype_size(dtype) == 0) return 4;
  if (in != out) memmove(out, in, count * dtype_size(dtype));
  return 0;
}

ncclResult_t ncclAllReduce(const void* in, void* out, size_t count, int dtype, int op, ncclComm_t comm,
                           cudaStream_t stream) {
  ncclResult_t error = issue("ncclAllReduce", comm, count, dtype, op, -1, stream);
  return error ? error : copy(in, out, count, dtype);
}

ncclResult_t ncclBroadcast(const void* in, void* out, size_t count, int dtype, int root, ncclComm_t comm,
                           cudaStream_t stream) {
  ncclResult_t error = issue("ncclBroadcast", comm, count, dtype, -1, root, stream);
  return error ? error : copy(in, out, count, dtype);
}

ncclResult_t ncclReduce(const void* in, void* out, size_t count, int dtype, int op, int root,
                        ncclComm_t comm, cudaStream_t stream) {
  ncclResult_t error = issue("ncclReduce", comm, count, dtype, op, root, stream);
  return error ? error : copy(in, out, count, dtype);
}

ncclResult_t ncclAllGather(const void* in, void* out, size_t count, int dtype, ncclComm_t comm,
                           cudaStream_t stream) {
  ncclResult_t error = issue("ncclAllGather", comm, count, dtype, -1, -1, stream);
  if (error) return error;
  /* Every rank's block is this rank's input (copied last into its own block, which `in` may alias). */
  for (int r = 0; r < comm->nranks; ++r) {
    if (r == comm->rank) continue;
    error = copy(in, (char*)out + (size_t)r * count * dtype_size(dtype), count, dtype);
    if (error) return error;
  }
  return copy(in, (char*)out + (size_t)comm->rank * count * dtype_size(dtype), count, dtype);
}

ncclResult_t ncclReduceScatter(const void* in, void* out, size_t count, int dtype, int op,
                               ncclComm_t comm, cudaStream_t stream) {
  ncclResult_t error = issue("ncclReduceScatter", comm, count, dtype, op, -1, stream);
  return error ? error : copy((const char*)in + (size_t)comm->rank * count * dtype_size(dtype), out, count, dtype);
}

ncclResult_t ncclSend(const void* buf, size_t count, int dtype, int peer, ncclComm_t comm,
                      cudaStream_t stream) {
  (void)buf;
  return issue("ncclSend", comm, count, dtype, -1, peer, stream);
}

ncclResult_t ncclRecv(void* buf, size_t count, int dtype, int peer, ncclComm_t comm, cudaStream_t stream) {
  (void)buf;
  return issue("ncclRecv", comm, count, dtype, -1, peer, stream);
}

ncclResult_t ncclGroupStart(void) { return 0; }
ncclResult_t ncclGroupEnd(void) { return 0; }
