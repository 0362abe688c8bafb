// N-API glue for communicators: a handle per communicator owning its engine thread; each submitted
// operation returns a Promise settled from a thread-safe function when the engine finishes it.
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "addon.h"
#include "glue/args.h"
#include "comm/engine.h"
#include "comm/nccl_comm.h"
#include "comm/shm_comm.h"
#include "comm/tcp_comm.h"

namespace joule {
namespace {

using comm::Completion;

// Both libraries load once per process (capabilities() usually did it already on a worker thread).
void LoadGpuLibraries(JouleAddon& addon) {
  std::lock_guard<std::mutex> lock(addon.librariesMutex);
  if (!addon.libraries.nccl.Load()) throw comm::CommError(ErrorCode::BackendUnavailable, "backend nccl: NCCL is unusable: " + addon.libraries.nccl.reason());
  if (!addon.libraries.cuda.Load(addon.addonDir)) {
    throw comm::CommError(ErrorCode::BackendUnavailable, "backend nccl: the CUDA module is unusable: " + addon.libraries.cuda.reason());
  }
}

Napi::Error CommErrorToJs(Napi::Env env, ErrorCode code, const std::string& message) {
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", CodeName(code));
  return error;
}

// Pointer and byte length of a TypedArray argument (V8 moves it off-heap, so the pointer is stable
// while the array is referenced).
void* DataOf(Napi::Env env, const Napi::Value& value, const std::string& name, size_t* bytes) {
  Napi::TypedArray array = glue::TypedArrayOf(env, value, name);
  *bytes = array.ByteLength();
  return static_cast<unsigned char*>(array.ArrayBuffer().Data()) + array.ByteOffset();
}

class CommHandle : public Napi::ObjectWrap<CommHandle> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NativeComm", {
      InstanceMethod<&CommHandle::Submit>("submit"),
      InstanceMethod<&CommHandle::Abort>("abort"),
      InstanceMethod<&CommHandle::Unlink>("unlink"),
      InstanceMethod<&CommHandle::Port>("port"),
      InstanceMethod<&CommHandle::SetPeers>("setPeers"),
      InstanceMethod<&CommHandle::Close>("close"),
    });
  }

  explicit CommHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<CommHandle>(info) {
    Napi::Env env = info.Env();
    using namespace glue;
    Napi::Object config = ObjectOf(env, Arg(info, 0), "NativeComm(config)");
    const auto field = [&](const char* key) { return config.Get(key); };
    const auto name = [](const char* key) { return std::string("NativeComm(config).") + key; };
    const auto integer = [&](const char* key, int64_t min, int64_t max) { return IntegerOf(env, field(key), name(key), min, max); };
    const auto bytes = [&](const char* key) { return static_cast<size_t>(integer(key, 1, kMaxSafeInteger)); };
    const std::string backend = StringOf(env, field("backend"), name("backend"));
    // Ranks and sizes are checked together: a rank outside its communicator is a bad argument too.
    const auto rankAndSize = [&](int* rank, int* size) {
      *size = static_cast<int>(integer("size", 1, 1 << 20));
      *rank = static_cast<int>(integer("rank", 0, *size - 1));
    };
    std::unique_ptr<comm::Backend> impl;
    try {
      if (backend == "shm") {
        comm::ShmConfig shm;
        rankAndSize(&shm.rank, &shm.size);
        shm.name = StringOf(env, field("name"), name("name"));
        shm.create = BooleanOf(env, field("create"), name("create"));
        shm.chunkBytes = bytes("chunkBytes");
        shm.smallBytes = bytes("smallBytes");
        shm.p2pBytes = bytes("p2pBytes");
        auto created = std::make_unique<comm::ShmComm>(shm);
        shm_ = created.get();
        impl = std::move(created);
      } else if (backend == "tcp") {
        comm::TcpConfig tcp;
        rankAndSize(&tcp.rank, &tcp.size);
        tcp.token = StringOf(env, field("token"), name("token"));
        tcp.pieceBytes = bytes("pieceBytes");
        tcp.smallBytes = bytes("smallBytes");
        tcp.halvingBytes = bytes("halvingBytes");
        auto created = std::make_unique<comm::TcpComm>(tcp);
        tcp_ = created.get();
        impl = std::move(created);
      } else if (backend == "nccl") {
        comm::NcclConfig nccl;
        rankAndSize(&nccl.rank, &nccl.size);
        nccl.device = static_cast<int>(integer("device", 0, 1 << 16));
        const std::string hex = StringOf(env, field("uniqueId"), name("uniqueId"));
        if (hex.size() != 2 * sizeof nccl.id.internal || hex.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) {
          throw comm::CommError(ErrorCode::BadArgument, "nccl: the unique id must be 256 hex digits");
        }
        JouleAddon& addon = JouleAddon::Of(env);
        LoadGpuLibraries(addon);
        for (size_t i = 0; i < sizeof nccl.id.internal; ++i) nccl.id.internal[i] = static_cast<char>(std::stoi(hex.substr(2 * i, 2), nullptr, 16));
        impl = std::make_unique<comm::NcclComm>(nccl, addon.libraries.nccl, addon.libraries.cuda);
      } else {
        throw comm::CommError(ErrorCode::BackendUnavailable, "unknown native backend " + backend);
      }
    } catch (const comm::CommError& error) {
      throw CommErrorToJs(env, error.code(), error.what());
    }
    tsfn_ = Napi::ThreadSafeFunction::New(env, Napi::Function::New(env, [](const Napi::CallbackInfo&) {}),
                                          "joule-comm", 0, 1);
    tsfn_.Unref(env);
    engine_ = std::make_unique<comm::Engine>(std::move(impl), [this](Completion&& done) {
      {
        std::lock_guard<std::mutex> lock(doneMutex_);
        done_.push_back(std::move(done));
      }
      tsfn_.NonBlockingCall([this](Napi::Env env, Napi::Function) { Drain(env); });
    });
  }

  ~CommHandle() override { Shutdown("communicator destroyed"); }

 private:
  struct Pending {
    Napi::Promise::Deferred deferred;
    Napi::Reference<Napi::Value> in, out;
  };

  // op: { kind, dtype, redop, wire, count, root, tag, timeoutS, avgDivisor?, in, out? }, iterations
  Napi::Value Submit(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!engine_) throw CommErrorToJs(env, ErrorCode::Aborted, "the communicator is closed");
    using namespace glue;
    Napi::Object spec = ObjectOf(env, Arg(info, 0), "submit(spec)");
    const auto field = [&](const char* key) { return spec.Get(key); };
    const auto name = [](const char* key) { return std::string("submit(spec).") + key; };
    const int iterations = info.Length() > 1 ? static_cast<int>(IntegerOf(env, info[1], "submit(iterations)", 1, INT32_MAX)) : 1;
    const int size = engine_->backend().size();
    comm::Op op;
    op.kind = EnumOf<comm::Kind>(env, field("kind"), name("kind"), 8);
    op.dtype = EnumOf<comm::DType>(env, field("dtype"), name("dtype"), 6);
    op.redop = EnumOf<comm::RedOp>(env, field("redop"), name("redop"), 5);
    op.wire = EnumOf<comm::Wire>(env, field("wire"), name("wire"), 3);
    op.count = static_cast<uint64_t>(IntegerOf(env, field("count"), name("count"), 0, kMaxSafeInteger));
    op.root = static_cast<int>(IntegerOf(env, field("root"), name("root"), -1, size - 1));
    op.tag = static_cast<int>(IntegerOf(env, field("tag"), name("tag"), INT32_MIN, INT32_MAX));
    op.timeoutS = NumberOf(env, field("timeoutS"), name("timeoutS"), 0, 1e9);
    Napi::Value avgDivisor = field("avgDivisor");
    if (!avgDivisor.IsUndefined()) op.avgDivisor = static_cast<uint32_t>(IntegerOf(env, avgDivisor, name("avgDivisor"), 0, UINT32_MAX));
    Napi::Value in = field("in");
    Napi::Value out = field("out");
    size_t inBytes = 0, outBytes = 0;
    if (!in.IsUndefined() && !in.IsNull()) op.in = DataOf(env, in, name("in"), &inBytes);
    if (!out.IsUndefined() && !out.IsNull()) op.out = DataOf(env, out, name("out"), &outBytes);
    // JS validated the sizes; this guards the native side against a caller that did not.
    const size_t eb = comm::DTypeBytes(op.dtype);
    const size_t n = static_cast<size_t>(size);
    size_t needIn = op.count * eb, needOut = op.count * eb;
    if (op.kind == comm::Kind::Allgather) needOut *= n;
    if (op.kind == comm::Kind::ReduceScatter) needIn *= n;
    if (op.kind == comm::Kind::Send || op.kind == comm::Kind::Barrier) needOut = 0;
    if (op.kind == comm::Kind::Recv || op.kind == comm::Kind::Barrier) needIn = 0;
    if ((needIn > 0 && (op.in == nullptr || inBytes < needIn)) || (needOut > 0 && (op.out == nullptr || outBytes < needOut))) {
      throw CommErrorToJs(env, ErrorCode::BadArgument, "buffer too small for the operation");
    }
    const uint64_t id = nextId_++;
    Pending pending{Napi::Promise::Deferred::New(env), {}, {}};
    if (in.IsTypedArray()) pending.in = Napi::Persistent(in);
    if (out.IsTypedArray()) pending.out = Napi::Persistent(out);
    Napi::Promise promise = pending.deferred.Promise();
    pending_.emplace(id, std::move(pending));
    if (pending_.size() == 1) tsfn_.Ref(env);
    engine_->Submit(id, op, iterations);
    return promise;
  }

  void Drain(Napi::Env env) {
    std::vector<Completion> done;
    {
      std::lock_guard<std::mutex> lock(doneMutex_);
      done.swap(done_);
    }
    for (Completion& completion : done) {
      auto found = pending_.find(completion.id);
      if (found == pending_.end()) continue;
      Napi::Promise::Deferred deferred = found->second.deferred;
      pending_.erase(found);
      if (!completion.code) {
        Napi::Object result = Napi::Object::New(env);
        result.Set("wireOverflows", static_cast<double>(completion.result.wireOverflows));
        result.Set("seconds", completion.seconds);
        deferred.Resolve(result);
      } else {
        deferred.Reject(CommErrorToJs(env, *completion.code, completion.message).Value());
      }
    }
    if (pending_.empty() && engine_) tsfn_.Unref(env);
  }

  Napi::Value Abort(const Napi::CallbackInfo& info) {
    const std::string reason = glue::StringOf(info.Env(), glue::Arg(info, 0), "abort(reason)");
    if (engine_) engine_->Abort(reason);
    return info.Env().Undefined();
  }

  Napi::Value Unlink(const Napi::CallbackInfo& info) {
    if (shm_ != nullptr) shm_->Unlink();
    return info.Env().Undefined();
  }

  Napi::Value Port(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), tcp_ != nullptr ? tcp_->port() : 0); }

  // Before the first operation only (the engine thread reads them when it connects).
  Napi::Value SetPeers(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Array hosts = glue::ArrayOf(env, glue::Arg(info, 0), "setPeers(hosts)");
    Napi::Array ports = glue::ArrayOf(env, glue::Arg(info, 1), "setPeers(ports)");
    if (ports.Length() != hosts.Length()) glue::BadArgument(env, "setPeers(ports)", "as many ports as hosts", ports);
    std::vector<std::string> h;
    std::vector<int> p;
    for (uint32_t i = 0; i < hosts.Length(); ++i) {
      h.push_back(glue::StringOf(env, hosts.Get(i), "setPeers(hosts)[" + std::to_string(i) + "]"));
      p.push_back(static_cast<int>(glue::IntegerOf(env, ports.Get(i), "setPeers(ports)[" + std::to_string(i) + "]", 0, 65535)));
    }
    if (tcp_ != nullptr) tcp_->SetPeers(std::move(h), std::move(p));
    return info.Env().Undefined();
  }

  // Ends the engine thread; an operation still running is aborted first so the join cannot hang.
  Napi::Value Close(const Napi::CallbackInfo& info) {
    Shutdown("communicator closed");
    return info.Env().Undefined();
  }

  void Shutdown(const std::string& reason) {
    if (!engine_) return;
    if (!pending_.empty()) engine_->Abort(reason);
    engine_.reset();
    shm_ = nullptr;
    tcp_ = nullptr;
    tsfn_.Release();
  }

  std::unique_ptr<comm::Engine> engine_;
  comm::ShmComm* shm_ = nullptr;
  comm::TcpComm* tcp_ = nullptr;
  Napi::ThreadSafeFunction tsfn_;
  std::mutex doneMutex_;
  std::vector<Completion> done_;
  std::map<uint64_t, Pending> pending_;
  uint64_t nextId_ = 1;
};

}  // namespace

// A fresh NCCL unique id (rank 0 of a communicator shares it through the coordinator), as hex.
Napi::Value NcclUniqueId(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  JouleAddon& addon = JouleAddon::Of(env);
  nccl::UniqueId id{};
  try {
    LoadGpuLibraries(addon);
    nccl::Result rc = addon.libraries.nccl.api().GetUniqueId(&id);
    if (rc != nccl::kSuccess) throw comm::CommError(ErrorCode::NativeError, "nccl: " + addon.libraries.nccl.Describe("ncclGetUniqueId", rc));
  } catch (const comm::CommError& error) {
    throw CommErrorToJs(env, error.code(), error.what());
  }
  static const char* digits = "0123456789abcdef";
  std::string hex;
  for (char c : id.internal) {
    hex += digits[(static_cast<unsigned char>(c) >> 4) & 15];
    hex += digits[static_cast<unsigned char>(c) & 15];
  }
  return Napi::String::New(env, hex);
}

void RegisterComm(Napi::Env env, Napi::Object exports) {
  exports.Set("NativeComm", CommHandle::Define(env));
  exports.Set("ncclUniqueId", Napi::Function::New(env, NcclUniqueId, "ncclUniqueId"));
}

}  // namespace joule
