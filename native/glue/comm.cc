// N-API glue for communicators: a handle per communicator owning its engine thread; each submitted
// operation returns a Promise settled from a thread-safe function when the engine finishes it.
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "addon.h"
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
void* DataOf(const Napi::Value& value, size_t* bytes) {
  Napi::TypedArray array = value.As<Napi::TypedArray>();
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
    Napi::Object config = info[0].As<Napi::Object>();
    const std::string backend = config.Get("backend").As<Napi::String>();
    std::unique_ptr<comm::Backend> impl;
    try {
      if (backend == "shm") {
        comm::ShmConfig shm;
        shm.rank = config.Get("rank").As<Napi::Number>().Int32Value();
        shm.size = config.Get("size").As<Napi::Number>().Int32Value();
        shm.name = config.Get("name").As<Napi::String>();
        shm.create = config.Get("create").As<Napi::Boolean>();
        shm.chunkBytes = static_cast<size_t>(config.Get("chunkBytes").As<Napi::Number>().Int64Value());
        shm.smallBytes = static_cast<size_t>(config.Get("smallBytes").As<Napi::Number>().Int64Value());
        shm.p2pBytes = static_cast<size_t>(config.Get("p2pBytes").As<Napi::Number>().Int64Value());
        auto created = std::make_unique<comm::ShmComm>(shm);
        shm_ = created.get();
        impl = std::move(created);
      } else if (backend == "tcp") {
        comm::TcpConfig tcp;
        tcp.rank = config.Get("rank").As<Napi::Number>().Int32Value();
        tcp.size = config.Get("size").As<Napi::Number>().Int32Value();
        tcp.token = config.Get("token").As<Napi::String>();
        tcp.pieceBytes = static_cast<size_t>(config.Get("pieceBytes").As<Napi::Number>().Int64Value());
        tcp.smallBytes = static_cast<size_t>(config.Get("smallBytes").As<Napi::Number>().Int64Value());
        tcp.halvingBytes = static_cast<size_t>(config.Get("halvingBytes").As<Napi::Number>().Int64Value());
        auto created = std::make_unique<comm::TcpComm>(tcp);
        tcp_ = created.get();
        impl = std::move(created);
      } else if (backend == "nccl") {
        JouleAddon& addon = JouleAddon::Of(env);
        LoadGpuLibraries(addon);
        comm::NcclConfig nccl;
        nccl.rank = config.Get("rank").As<Napi::Number>().Int32Value();
        nccl.size = config.Get("size").As<Napi::Number>().Int32Value();
        nccl.device = config.Get("device").As<Napi::Number>().Int32Value();
        const std::string hex = config.Get("uniqueId").As<Napi::String>();
        if (hex.size() != 2 * sizeof nccl.id.internal) throw comm::CommError(ErrorCode::BadArgument, "nccl: the unique id must be 256 hex digits");
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
    Napi::Object spec = info[0].As<Napi::Object>();
    const int iterations = info.Length() > 1 ? info[1].As<Napi::Number>().Int32Value() : 1;
    comm::Op op;
    op.kind = static_cast<comm::Kind>(spec.Get("kind").As<Napi::Number>().Uint32Value());
    op.dtype = static_cast<comm::DType>(spec.Get("dtype").As<Napi::Number>().Uint32Value());
    op.redop = static_cast<comm::RedOp>(spec.Get("redop").As<Napi::Number>().Uint32Value());
    op.wire = static_cast<comm::Wire>(spec.Get("wire").As<Napi::Number>().Uint32Value());
    op.count = static_cast<uint64_t>(spec.Get("count").As<Napi::Number>().Int64Value());
    op.root = spec.Get("root").As<Napi::Number>().Int32Value();
    op.tag = spec.Get("tag").As<Napi::Number>().Int32Value();
    op.timeoutS = spec.Get("timeoutS").As<Napi::Number>().DoubleValue();
    Napi::Value avgDivisor = spec.Get("avgDivisor");
    if (avgDivisor.IsNumber()) op.avgDivisor = avgDivisor.As<Napi::Number>().Uint32Value();
    Napi::Value in = spec.Get("in");
    Napi::Value out = spec.Get("out");
    size_t inBytes = 0, outBytes = 0;
    if (in.IsTypedArray()) op.in = DataOf(in, &inBytes);
    if (out.IsTypedArray()) op.out = DataOf(out, &outBytes);
    // JS validated the sizes; this guards the native side against a caller that did not.
    const size_t eb = comm::DTypeBytes(op.dtype);
    const size_t n = static_cast<size_t>(engine_->backend().size());
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
    if (engine_) engine_->Abort(info[0].As<Napi::String>());
    return info.Env().Undefined();
  }

  Napi::Value Unlink(const Napi::CallbackInfo& info) {
    if (shm_ != nullptr) shm_->Unlink();
    return info.Env().Undefined();
  }

  Napi::Value Port(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), tcp_ != nullptr ? tcp_->port() : 0); }

  // Before the first operation only (the engine thread reads them when it connects).
  Napi::Value SetPeers(const Napi::CallbackInfo& info) {
    Napi::Array hosts = info[0].As<Napi::Array>();
    Napi::Array ports = info[1].As<Napi::Array>();
    std::vector<std::string> h;
    std::vector<int> p;
    for (uint32_t i = 0; i < hosts.Length(); ++i) {
      h.push_back(hosts.Get(i).As<Napi::String>());
      p.push_back(ports.Get(i).As<Napi::Number>().Int32Value());
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
