/* A fake libnccl.so.2 for tests: single-process semantics (every collective copies its input to its
 * output), so the dlopen path, argument passing and error reporting of the real backend run without
 * a GPU. JOULE_FAKE_NCCL_ERROR=N makes every call after init return N. */
#include <stdlib.h>
#include <string.h>

typedef int ncclResult_t;
typedef struct { char internal[128]; } ncclUniqueId;
typedef struct FakeComm { int nranks, rank; } *ncclComm_t;
typedef void* cudaStream_t;

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
  memset(id, 0, sizeof *id);
  memcpy(id->internal, "fake-nccl-id", 12);
  return 0;
}

ncclResult_t ncclCommInitRank(ncclComm_t* comm, int nranks, ncclUniqueId id, int rank) {
  (void)id;
  if (rank < 0 || rank >= nranks) return 4;
  *comm = malloc(sizeof **comm);
  (*comm)->nranks = nranks;
  (*comm)->rank = rank;
  return 0;
}

ncclResult_t ncclCommDestroy(ncclComm_t comm) {
  free(comm);
  return 0;
}

ncclResult_t ncclCommAbort(ncclComm_t comm) { return ncclCommDestroy(comm); }

ncclResult_t ncclCommGetAsyncError(ncclComm_t comm, ncclResult_t* error) {
  (void)comm;
  *error = injected_error();
  return 0;
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
  (void)op; (void)comm; (void)stream;
  return copy(in, out, count, dtype);
}

ncclResult_t ncclBroadcast(const void* in, void* out, size_t count, int dtype, int root, ncclComm_t comm,
                           cudaStream_t stream) {
  (void)root; (void)comm; (void)stream;
  return copy(in, out, count, dtype);
}

ncclResult_t ncclReduce(const void* in, void* out, size_t count, int dtype, int op, int root,
                        ncclComm_t comm, cudaStream_t stream) {
  (void)op; (void)root; (void)comm; (void)stream;
  return copy(in, out, count, dtype);
}

ncclResult_t ncclAllGather(const void* in, void* out, size_t count, int dtype, ncclComm_t comm,
                           cudaStream_t stream) {
  (void)comm; (void)stream;
  return copy(in, out, count, dtype);
}

ncclResult_t ncclReduceScatter(const void* in, void* out, size_t count, int dtype, int op,
                               ncclComm_t comm, cudaStream_t stream) {
  (void)op; (void)comm; (void)stream;
  return copy(in, out, count, dtype);
}

ncclResult_t ncclSend(const void* buf, size_t count, int dtype, int peer, ncclComm_t comm,
                      cudaStream_t stream) {
  (void)buf; (void)count; (void)dtype; (void)peer; (void)comm; (void)stream;
  return injected_error();
}

ncclResult_t ncclRecv(void* buf, size_t count, int dtype, int peer, ncclComm_t comm, cudaStream_t stream) {
  (void)buf; (void)count; (void)dtype; (void)peer; (void)comm; (void)stream;
  return injected_error();
}

ncclResult_t ncclGroupStart(void) { return 0; }
ncclResult_t ncclGroupEnd(void) { return 0; }
